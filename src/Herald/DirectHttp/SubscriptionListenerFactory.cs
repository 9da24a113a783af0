using System.Net;
using System.Buffers;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Herald.DirectHttp;

/// <summary>Binds a <see cref="SubscriptionListener"/> for each TCP endpoint Kestrel listens on (<c>UseHeraldListener</c>).</summary>
internal sealed class SubscriptionListenerFactory(
    IServiceProvider services,
    IOptions<SocketTransportOptions> options,
    IOptions<KestrelServerOptions> kestrel,
    IOptions<HeraldOptions> herald,
    ILoggerFactory loggerFactory) : IConnectionListenerFactory, IConnectionListenerFactorySelector, IDisposable
{
    private readonly Lock _gate = new();
    private ConnectionLimit? _connections;
    private SubscriptionAdmission? _admission;

    public bool CanBind(EndPoint endpoint) => endpoint is IPEndPoint;

    /// <summary>The sockets transport's options, copied through public members only.</summary>
    private static SocketConnectionFactoryOptions FactoryOptions(SocketTransportOptions transport) => new()
    {
        IOQueueCount = transport.IOQueueCount,
        WaitForDataBeforeAllocatingBuffer = transport.WaitForDataBeforeAllocatingBuffer,
        MaxReadBufferSize = transport.MaxReadBufferSize,
        MaxWriteBufferSize = transport.MaxWriteBufferSize,
        UnsafePreferInlineScheduling = transport.UnsafePreferInlineScheduling,
    };

    /// <summary>
    /// Kestrel's own memory pool, through the public <see cref="IMemoryPoolFactory{T}"/> Kestrel registers. A connection
    /// made with the public <see cref="SocketConnectionFactoryOptions"/> carries <c>MemoryPool&lt;byte&gt;.Shared</c>, and
    /// Kestrel's HTTP/1.1 layer cannot write a chunked response with that pool (on .NET 10.0.12 the response pipe's
    /// <c>GetSpan</c> returned an empty span after the first chunk and the stream was aborted: 35 tests of the listener
    /// path failed). Each connection handed to Kestrel is therefore given this pool as its <see cref="Microsoft.AspNetCore.Connections.Features.IMemoryPoolFeature"/>.
    /// </summary>
    private MemoryPool<byte> KestrelPool()
        => (services.GetService<IMemoryPoolFactory<byte>>()
            ?? throw new InvalidOperationException(
                "UseHeraldListener() needs Kestrel's memory pool factory (IMemoryPoolFactory<byte>), which this host does not register. "
                + "Remove UseHeraldListener(); UseHeraldSubscriptions() still serves subscriptions on Kestrel's connections."))
            .Create();

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
        return new(new SubscriptionListener(socket, transport.NoDelay, factory, KestrelPool(), services, HeadLimits.From(limits), connections, Admission(logger), logger));
    }

    /// <summary>One set of admission threads for every endpoint (and every rebind), stopped with the server's services.</summary>
    private SubscriptionAdmission Admission(ILogger logger)
    {
        lock (_gate)
        {
            return _admission ??= new SubscriptionAdmission(logger);
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _admission?.Dispose();
        }
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
