using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Reflection;
using System.Threading.Channels;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Herald.Hosting;

/// <summary>
/// Kestrel's transport for TCP endpoints, with subscriptions taken out before Kestrel sees them: it accepts each
/// connection itself and peeks at its first bytes. A plain subscription (the same test as
/// <see cref="SubscribeConnectionMiddleware"/>) is served right there, with nothing of Kestrel's per-connection state
/// (pipes, send and receive loops, connection tracking) — an idle subscriber costs its socket and its subscription.
/// Every other connection becomes a normal Kestrel connection through the sockets transport's own
/// <see cref="SocketConnectionContextFactory"/>, its bytes still unread (they were only peeked at).
/// </summary>
internal sealed class SubscriptionListenerFactory(
    IServiceProvider services,
    IOptions<SocketTransportOptions> options,
    ILoggerFactory loggerFactory) : IConnectionListenerFactory, IConnectionListenerFactorySelector
{
    public bool CanBind(EndPoint endpoint) => endpoint is IPEndPoint;

    /// <summary>
    /// The factory options exactly as Kestrel's sockets transport derives them from its own options — including the
    /// memory pool Kestrel configured, which the public constructor does not take (its default pool makes HTTP/1
    /// response writes fail). That constructor is internal, so it is called by reflection; without it the public
    /// properties are copied.
    /// </summary>
    private static SocketConnectionFactoryOptions FactoryOptions(SocketTransportOptions transport)
    {
        var fromTransport = typeof(SocketConnectionFactoryOptions).GetConstructor(
            BindingFlags.Instance | BindingFlags.NonPublic, [typeof(SocketTransportOptions)]);
        if (fromTransport?.Invoke([transport]) is SocketConnectionFactoryOptions options)
        {
            return options;
        }

        return new SocketConnectionFactoryOptions
        {
            IOQueueCount = transport.IOQueueCount,
            WaitForDataBeforeAllocatingBuffer = transport.WaitForDataBeforeAllocatingBuffer,
            MaxReadBufferSize = transport.MaxReadBufferSize,
            MaxWriteBufferSize = transport.MaxWriteBufferSize,
            UnsafePreferInlineScheduling = transport.UnsafePreferInlineScheduling,
        };
    }

    public ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken cancellationToken = default)
    {
        var transport = options.Value;
        var socket = transport.CreateBoundListenSocket(endpoint);
        socket.Listen(transport.Backlog);
        var factory = new SocketConnectionContextFactory(FactoryOptions(transport), loggerFactory.CreateLogger<SocketConnectionContextFactory>());
        return new(new SubscriptionListener(socket, transport.NoDelay, factory, services, loggerFactory.CreateLogger<SubscriptionListener>()));
    }
}

internal sealed class SubscriptionListener : IConnectionListener
{
    /// <summary>How much of a new connection is peeked at: a subscription head larger than this goes to Kestrel.</summary>
    private const int PeekBytes = 16 * 1024;

    /// <summary>How long a new connection may stay silent before it is handed to Kestrel (and its timeouts).</summary>
    private static readonly TimeSpan FirstBytesTimeout = TimeSpan.FromSeconds(5);

    private static long s_connectionIds;

    private readonly Socket _listenSocket;
    private readonly bool _noDelay;
    private readonly SocketConnectionContextFactory _factory;
    private readonly IServiceProvider _services;
    private readonly ILogger _logger;
    private readonly Channel<ConnectionContext> _toKestrel = Channel.CreateUnbounded<ConnectionContext>(new UnboundedChannelOptions { SingleReader = true });
    private readonly ConcurrentDictionary<Socket, byte> _waiting = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _accepting;

    public SubscriptionListener(Socket listenSocket, bool noDelay, SocketConnectionContextFactory factory, IServiceProvider services, ILogger logger)
    {
        _listenSocket = listenSocket;
        _noDelay = noDelay;
        _factory = factory;
        _services = services;
        _logger = logger;
        EndPoint = listenSocket.LocalEndPoint!;
        _accepting = AcceptLoopAsync();
    }

    public EndPoint EndPoint { get; }

    public async ValueTask<ConnectionContext?> AcceptAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            return await _toKestrel.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            return null;
        }
    }

    public async ValueTask UnbindAsync(CancellationToken cancellationToken = default)
    {
        if (!_stopping.IsCancellationRequested)
        {
            await _stopping.CancelAsync().ConfigureAwait(false);
        }

        _listenSocket.Dispose();
        await _accepting.ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        await UnbindAsync().ConfigureAwait(false);
        foreach (var socket in _waiting.Keys)
        {
            socket.Dispose();
        }

        _factory.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        await Task.Yield();
        while (true)
        {
            Socket socket;
            try
            {
                socket = await _listenSocket.AcceptAsync(_stopping.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
            {
                break;
            }
            catch (SocketException e) when (!_stopping.IsCancellationRequested)
            {
                // A connection reset before it was accepted, or the process is out of file descriptors for a
                // moment: the listener goes on, as Kestrel's does.
                _logger.LogDebug(e, "Accepting a connection failed.");
                continue;
            }
            catch (SocketException)
            {
                break;
            }

            socket.NoDelay = _noDelay;
            _ = ClassifyAsync(socket);
        }

        _toKestrel.Writer.TryComplete();
    }

    /// <summary>Serves the connection if it opens with a subscription; hands it to Kestrel otherwise.</summary>
    private async Task ClassifyAsync(Socket socket)
    {
        var route = _services.GetService<HubRoute>();
        if (route?.DirectPath is not { } path)
        {
            ToKestrel(socket);
            return;
        }

        RequestHead? head;
        _waiting.TryAdd(socket, 0);
        try
        {
            head = await PeekHeadAsync(socket, path).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            socket.Dispose();
            return;
        }
        finally
        {
            _waiting.TryRemove(socket, out _);
        }

        if (head is null)
        {
            ToKestrel(socket);
            return;
        }

        try
        {
            var serving = DirectSubscription.ServeAsync(
                new ListenerConnection(socket, Interlocked.Increment(ref s_connectionIds)), head, route, _services, _logger);
            head = null;
            await serving.ConfigureAwait(false);
        }
        finally
        {
            socket.Dispose();
        }
    }

    /// <summary>
    /// Waits for the first bytes and peeks at them: the head (then consumed) if it is a whole plain subscription,
    /// or null (nothing consumed) for anything else, including a head that has not all arrived yet.
    /// </summary>
    private async Task<RequestHead?> PeekHeadAsync(Socket socket, string path)
    {
        using (var silence = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token))
        {
            silence.CancelAfter(FirstBytesTimeout);
            try
            {
                await socket.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None, silence.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return null;
            }
        }

        var buffer = ArrayPool<byte>.Shared.Rent(PeekBytes);
        try
        {
            var peeked = socket.Receive(buffer, 0, PeekBytes, SocketFlags.Peek);
            var bytes = new ReadOnlySequence<byte>(buffer, 0, peeked);
            if (RequestHead.TryRead(bytes, path, out var head, out var end) != RequestHead.Result.Ours)
            {
                return null;
            }

            // Consume exactly the head; anything after it stays for the drain.
            var length = (int)bytes.Slice(0, end).Length;
            var consumed = 0;
            while (consumed < length)
            {
                var read = socket.Receive(buffer, consumed, length - consumed, SocketFlags.None);
                if (read == 0)
                {
                    throw new SocketException((int)SocketError.ConnectionReset);
                }

                consumed += read;
            }

            return head;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private void ToKestrel(Socket socket)
    {
        if (!_toKestrel.Writer.TryWrite(_factory.Create(socket)))
        {
            socket.Dispose();
        }
    }

    /// <summary>A connection this listener accepted and serves itself.</summary>
    private sealed class ListenerConnection(Socket socket, long id) : DirectConnection(socket)
    {
        /// <summary>Shared by every connection: what a subscriber sends after its head is read and dropped.</summary>
        private static readonly byte[] Discard = new byte[4096];

        public override string Id => $"herald-{id:x}";

        public override EndPoint? RemoteEndPoint => Socket.RemoteEndPoint;

        public override EndPoint? LocalEndPoint => Socket.LocalEndPoint;

        public override void Abort()
        {
            StopDraining();
            Socket.Dispose();
        }

        public override async Task DrainAsync(DirectResponse response)
        {
            try
            {
                var received = 0L;
                int n;
                while (received <= MaxBytesAfterHead && (n = await Socket.ReceiveAsync(Discard, SocketFlags.None).ConfigureAwait(false)) > 0)
                {
                    received += n;
                }
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                // A reset or a closed socket: the client is gone all the same.
            }

            response.ClientGone();
        }

        /// <summary>Ends the receive side (the pending read returns); what was sent still goes out before the FIN.</summary>
        public override void StopDraining()
        {
            try
            {
                Socket.Shutdown(SocketShutdown.Both);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                // Already closed.
            }
        }
    }
}
