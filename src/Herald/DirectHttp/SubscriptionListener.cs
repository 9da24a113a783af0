using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading.Channels;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Herald.DirectHttp;

/// <summary>
/// Kestrel's transport for TCP endpoints, with subscriptions taken out before Kestrel sees them: it accepts each
/// connection itself and peeks at its first bytes. A plain subscription (the same test as
/// <see cref="SubscribeConnectionMiddleware"/>) is served right there, with nothing of Kestrel's per-connection state
/// (pipes, send and receive loops, connection tracking) — an idle subscriber costs its socket and its subscription.
/// Every other connection becomes a normal Kestrel connection through the sockets transport's own
/// <see cref="SocketConnectionContextFactory"/>, its bytes still unread (they were only peeked at).
/// </summary>
/// <remarks>It keeps the connections open under <see cref="ConnectionLimit"/> (shared by every endpoint) and answers the rest 503.</remarks>
internal sealed class SubscriptionListener : IConnectionListener
{
    /// <summary>How much of a new connection is peeked at: a subscription head larger than this goes to Kestrel.</summary>
    private const int PeekBytes = 16 * 1024;

    /// <summary>How long a new connection may stay silent before it is handed to Kestrel (and its timeouts).</summary>
    private static readonly TimeSpan FirstBytesTimeout = TimeSpan.FromSeconds(5);

    /// <summary>How long a refused connection is read from (so its close is not a reset that loses the 503).</summary>
    private static readonly TimeSpan RefusalLinger = TimeSpan.FromSeconds(5);

    /// <summary>The longest wait between accepts while the process is out of descriptors (EMFILE, ENFILE).</summary>
    private const int MaxAcceptBackoffMs = 1000;

    private const string TooManyConnectionsReason = "too many connections to the hub, retry later\n";

    private static readonly byte[] TooManyConnections = ServiceUnavailable(TooManyConnectionsReason);

    private static readonly byte[] ShuttingDown = ServiceUnavailable("the hub is shutting down, retry later\n");

    /// <summary>Shared by every connection: what a client sends that the hub reads only to drop.</summary>
    private static readonly byte[] Discard = new byte[4096];

    private static long s_connectionIds;

    /// <summary>A whole 503 response with <c>Retry-After</c> and a one-line reason, sent before the connection is closed.</summary>
    private static byte[] ServiceUnavailable(string reason) => Encoding.ASCII.GetBytes(
        "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 5\r\nContent-Type: text/plain; charset=utf-8\r\n"
        + $"Content-Length: {reason.Length}\r\nConnection: close\r\n\r\n{reason}");

    private readonly Socket _listenSocket;
    private readonly bool _noDelay;
    private readonly SocketConnectionContextFactory _factory;
    private readonly PoolFeature _pool;
    private readonly IServiceProvider _services;
    private readonly ILogger _logger;
    private readonly Channel<ConnectionContext> _toKestrel = Channel.CreateUnbounded<ConnectionContext>(new UnboundedChannelOptions { SingleReader = true });
    private readonly ConcurrentDictionary<Socket, byte> _waiting = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _accepting;
    private readonly HeadLimits _limits;
    private readonly ConnectionLimit _connections;
    private readonly TlsEndpoints _tls;
    private readonly SubscriptionAdmission _admission;

    public SubscriptionListener(
        Socket listenSocket, bool noDelay, SocketConnectionContextFactory factory, MemoryPool<byte> pool, IServiceProvider services, HeadLimits limits, ConnectionLimit connections, SubscriptionAdmission admission, ILogger logger)
    {
        _listenSocket = listenSocket;
        _noDelay = noDelay;
        _factory = factory;
        _pool = new PoolFeature(pool);
        _services = services;
        _limits = limits;
        _connections = connections;
        _logger = logger;
        EndPoint = listenSocket.LocalEndPoint!;
        _tls = new TlsEndpoints(services);
        _admission = admission;
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
        _pool.MemoryPool.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        await Task.Yield();
        var backoffMs = 0;
        while (true)
        {
            Socket socket;
            try
            {
                socket = await _listenSocket.AcceptAsync(_stopping.Token).ConfigureAwait(false);
                backoffMs = 0;
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
            {
                break;
            }
            catch (SocketException e) when (!_stopping.IsCancellationRequested
                && e.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionAborted)
            {
                // The client gave up while it waited in the backlog: the next one may be there already.
                continue;
            }
            catch (SocketException e) when (!_stopping.IsCancellationRequested)
            {
                // Out of descriptors (EMFILE, ENFILE) or kernel memory: another accept now fails the same way at once,
                // and retrying without a pause spun a whole core. Wait, doubling from 10 ms up to a second, while
                // connections close; the backlog keeps the clients meanwhile.
                if (backoffMs == 0)
                {
                    DirectHttpLog.AcceptFailed(_logger, e.SocketErrorCode);
                }

                backoffMs = Math.Clamp(backoffMs * 2, 10, MaxAcceptBackoffMs);
                try
                {
                    await Task.Delay(backoffMs, _stopping.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }

                continue;
            }
            catch (SocketException)
            {
                break;
            }

            if (!_connections.TryTake())
            {
                _ = RefuseAsync(socket);
                continue;
            }

            socket.NoDelay = _noDelay;
            try
            {
                Classify(socket);
            }
#pragma warning disable CA1031 // Whatever one connection did, the loop must go on accepting the others.
            catch (Exception)
#pragma warning restore CA1031
            {
                Close(socket);
            }
        }

        _toKestrel.Writer.TryComplete();
    }

    /// <summary>
    /// Sorts a connection just accepted: a subscription whose head is already there is read here and queued for the
    /// admission threads, anything else whose head is there goes to Kestrel at once, and a connection that has sent
    /// nothing yet, or only part of its head, is classified off this loop as before (<see cref="ClassifyAsync"/>: it
    /// waits for first bytes, then peeks once; an incomplete head goes to Kestrel).
    /// </summary>
    /// <remarks>
    /// Measured in workload (f) (10,000 subscribers reconnecting at once): reading the heads on the thread pool put
    /// 20,000 work items (a wait for the first bytes, then the read) ahead of everything a publisher needed there, and
    /// no publish was answered for half a second. A head that is there takes one peek and one read here (the accept
    /// loop keeps up: no SYN was dropped with the backlog at 4096), and a publisher's new connection reaches Kestrel
    /// without waiting behind the storm.
    /// </remarks>
    private void Classify(Socket socket)
    {
        var route = _services.GetService<HubRoute>();

        // On an https:// port the first bytes are a TLS handshake, Kestrel's to answer; not even a plaintext
        // subscription is served there (Kestrel refuses plaintext on a TLS port, and so must the hub).
        if (route?.DirectPath is not { } path || !_tls.IsCleartext(((IPEndPoint)EndPoint).Port))
        {
            ToKestrel(socket);
            return;
        }

        try
        {
            if (socket.Available > 0)
            {
                switch (TryReadHead(socket, path, route, out var head))
                {
                    case RequestHead.Result.Ours:
                        Admit(socket, head!, route);
                        return;
                    case RequestHead.Result.NotOurs:
                        ToKestrel(socket);
                        return;
                }
            }
        }
        catch (Exception)
        {
            // The peer, or a bug in reading the head: the socket is ours until it reaches Kestrel or DirectSubscription.
            Close(socket);
            return;
        }

        _ = ClassifyAsync(socket, path, route);
    }

    /// <summary>Waits (off the accept loop) for a connection's first bytes, then serves it if it opens with a subscription; hands it to Kestrel otherwise.</summary>
    private async Task ClassifyAsync(Socket socket, string path, HubRoute route)
    {
        RequestHead? head;
        _waiting.TryAdd(socket, 0);
        try
        {
            head = await PeekHeadAsync(socket, path, route).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Whatever failed (the peer, or a bug in reading the head), the socket is ours until it reaches Kestrel
            // or DirectSubscription: close it and give its place under the connection limit back.
            Close(socket);
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

        Admit(socket, head, route);
    }

    /// <summary>Opens the subscription on an admission thread (see <see cref="SubscriptionAdmission"/>), not on the pool.</summary>
    private void Admit(Socket socket, RequestHead head, HubRoute route)
    {
        if (!_admission.TryAdd(() => ServeAsync(socket, head, route)))
        {
            Close(socket);
        }
    }

    /// <summary>Serves a subscription on its socket until its stream ends, then closes the socket.</summary>
    private async Task ServeAsync(Socket socket, RequestHead head, HubRoute route)
    {
        try
        {
            if (_stopping.IsCancellationRequested)
            {
                // Queued for admission when the listener stopped: answered as the hub answers a subscription while it
                // drains (503 with Retry-After), never a bare close.
                socket.Blocking = false;
                socket.Send(ShuttingDown, SocketFlags.None, out _);
                return;
            }

            var serving = DirectSubscription.ServeAsync(
                new ListenerConnection(socket, Interlocked.Increment(ref s_connectionIds)), head, route, _services, _logger);
            head = null!;
            await serving.ConfigureAwait(false);
        }
        finally
        {
            Close(socket);
        }
    }

    /// <summary>Closes a connection this listener counted.</summary>
    private void Close(Socket socket)
    {
        socket.Dispose();
        _connections.Release();
    }

    /// <summary>
    /// Answers a connection over the limit 503 with <c>Retry-After</c> and closes it. The client's request is read
    /// (and dropped) until it closes, for a few seconds at most: closing with it unread would send a reset, which can
    /// destroy the answer before the client reads it. Past a few refusals at once, the connection is closed at once:
    /// refusing must not cost the descriptors the limit keeps free.
    /// </summary>
    private async Task RefuseAsync(Socket socket)
    {
        if (!_connections.TryStartRefusal())
        {
            socket.Dispose();
            return;
        }

        try
        {
            socket.Blocking = false;
            socket.Send(TooManyConnections, SocketFlags.None, out _);
            socket.Shutdown(SocketShutdown.Send);
            using var linger = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
            linger.CancelAfter(RefusalLinger);
            var received = 0;
            int n;
            while (received < DirectConnection.MaxBytesAfterHead
                && (n = await socket.ReceiveAsync(Discard, SocketFlags.None, linger.Token).ConfigureAwait(false)) > 0)
            {
                received += n;
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException)
        {
            // Gone, or slow to close: either way the connection ends here.
        }
        finally
        {
            socket.Dispose();
            _connections.EndRefusal();
        }
    }

    /// <summary>
    /// Waits for the first bytes and peeks at them: the head (then consumed) if it is a whole plain subscription,
    /// or null (nothing consumed) for anything else, including a head that has not all arrived yet.
    /// </summary>
    private async Task<RequestHead?> PeekHeadAsync(Socket socket, string path, HubRoute route)
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

        return TryReadHead(socket, path, route, out var head) == RequestHead.Result.Ours ? head : null;
    }

    /// <summary>
    /// Peeks at what the connection has sent: a complete plain subscription head is consumed (exactly the head; what
    /// follows stays for the drain) and returned (<see cref="RequestHead.Result.Ours"/>); anything else is left unread.
    /// </summary>
    private RequestHead.Result TryReadHead(Socket socket, string path, HubRoute route, out RequestHead? head)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(PeekBytes);
        try
        {
            var peeked = socket.Receive(buffer, 0, PeekBytes, SocketFlags.Peek);
            var bytes = new ReadOnlySequence<byte>(buffer, 0, peeked);
            var result = RequestHead.TryRead(bytes, path, _limits, out head, out var end);
            if (result != RequestHead.Result.Ours || !route.Admits(head!))
            {
                head = null;
                return result == RequestHead.Result.NeedMore ? result : RequestHead.Result.NotOurs;
            }

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

            return RequestHead.Result.Ours;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private void ToKestrel(Socket socket)
    {
        // Counted until Kestrel disposes of the connection, which it does for every connection it accepted.
        var created = _factory.Create(socket);
        created.Features.Set<IMemoryPoolFeature>(_pool);
        var connection = new CountedConnection(created, _connections.Release);
        if (!_toKestrel.Writer.TryWrite(connection))
        {
            _ = connection.DisposeAsync().AsTask();
        }
    }

    /// <summary>Kestrel's pool, for Kestrel's HTTP layer on a connection handed over (see <see cref="SubscriptionListenerFactory"/>).</summary>
    private sealed class PoolFeature(MemoryPool<byte> pool) : IMemoryPoolFeature
    {
        public MemoryPool<byte> MemoryPool => pool;
    }

    /// <summary>A connection this listener accepted and serves itself.</summary>
    private sealed class ListenerConnection(Socket socket, long id) : DirectConnection(socket)
    {
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
