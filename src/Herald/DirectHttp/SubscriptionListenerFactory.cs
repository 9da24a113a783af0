using System.Net;
using System.Reflection;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Herald.DirectHttp;

/// <summary>Binds a <see cref="SubscriptionListener"/> for each TCP endpoint Kestrel listens on (<c>UseHeraldListener</c>).</summary>
internal sealed class SubscriptionListenerFactory(
    IServiceProvider services,
    IOptions<SocketTransportOptions> options,
    IOptions<KestrelServerOptions> kestrel,
    IOptions<HeraldOptions> herald,
    ILoggerFactory loggerFactory) : IConnectionListenerFactory, IConnectionListenerFactorySelector
{
    private readonly Lock _gate = new();
    private ConnectionLimit? _connections;

    public bool CanBind(EndPoint endpoint) => endpoint is IPEndPoint;

    /// <summary>
    /// The factory options exactly as Kestrel's sockets transport derives them from its own options — including the
    /// memory pool Kestrel configured, which no public member takes. That constructor is internal, so it is called by
    /// reflection (the one reach into Kestrel's internals left).
    /// </summary>
    /// <remarks>
    /// The public constructor is no way out: its options carry the transport's default pool
    /// (<c>MemoryPool&lt;byte&gt;.Shared</c>), and on .NET 10.0.12 every connection handed over with it was reset
    /// instead of answered (35 tests of the listener path failed: the Kestrel answers of MalformedHeadTests,
    /// DirectSubscribeTests, DirectPathDefenceTests...). Were the constructor gone in a later runtime, copying the
    /// public properties would break those connections silently; binding fails instead, with what to do.
    /// </remarks>
    private static SocketConnectionFactoryOptions FactoryOptions(SocketTransportOptions transport)
    {
        var fromTransport = typeof(SocketConnectionFactoryOptions).GetConstructor(
            BindingFlags.Instance | BindingFlags.NonPublic, [typeof(SocketTransportOptions)]);
        return fromTransport?.Invoke([transport]) as SocketConnectionFactoryOptions
            ?? throw new InvalidOperationException(
                "This ASP.NET Core runtime does not let Herald's listener hand connections to Kestrel with Kestrel's memory pool. "
                + "Remove UseHeraldListener(); UseHeraldSubscriptions() still serves subscriptions on Kestrel's connections.");
    }

    public ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken cancellationToken = default)
    {
        var transport = options.Value;
        var socket = transport.CreateBoundListenSocket(endpoint);
        socket.Listen(transport.Backlog);
        var factory = new SocketConnectionContextFactory(FactoryOptions(transport), loggerFactory.CreateLogger<SocketConnectionContextFactory>());
        var limits = kestrel.Value.Limits;
        var logger = loggerFactory.CreateLogger<SubscriptionListener>();
        var connections = Connections(limits, logger);
        DirectHttpLog.Listening(logger, socket.LocalEndPoint, connections.Max);
        return new(new SubscriptionListener(socket, transport.NoDelay, factory, services, HeadLimits.From(limits), connections, logger));
    }

    /// <summary>One limit for every endpoint (localhost binds two): it stands for the process's descriptors.</summary>
    private ConnectionLimit Connections(KestrelServerLimits limits, ILogger logger)
    {
        lock (_gate)
        {
            return _connections ??= new ConnectionLimit(ConnectionLimit.Resolve(herald.Value, limits, logger));
        }
    }
}
