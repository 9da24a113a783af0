using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Herald.DirectHttp;

/// <summary>
/// Kestrel connection middleware that serves Mercure subscriptions straight from the connection: it reads the
/// first request head itself and, when it is a plain <c>GET</c> of the hub's path over HTTP/1.1 without TLS,
/// runs the hub's subscribe endpoint on it and writes the event stream to the socket directly. Every other
/// connection — other paths and methods, HTTP/2, TLS, anything unusual — goes to Kestrel's HTTP stack untouched,
/// with the bytes read so far still unread.
/// </summary>
/// <remarks>
/// What this saves per subscriber: Kestrel's HTTP/1.1 connection state (request and response header
/// collections, the HTTP context, the output pipe and its send loop) — most of the memory of an idle stream —
/// and, per event, the copy into a pipe and the hop to another thread before the socket write.
/// </remarks>
internal sealed class SubscribeConnectionMiddleware(ConnectionDelegate next, IServiceProvider services)
{
    private static readonly byte[] RequestTimeout = "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"u8.ToArray();

    private readonly ILogger _logger = services.GetRequiredService<ILogger<SubscribeConnectionMiddleware>>();

    private readonly TlsEndpoints _tls = new(services);

    private readonly TimeSpan _headTimeout = services.GetService<IOptions<KestrelServerOptions>>()?.Value.Limits.RequestHeadersTimeout ?? TimeSpan.FromSeconds(30);

    /// <summary>Kestrel's limits on a head: one over them is handed to Kestrel, which answers 414 or 431.</summary>
    private readonly HeadLimits _limits = services.GetService<IOptions<KestrelServerOptions>>()?.Value.Limits is { } limits
        ? HeadLimits.From(limits)
        : HeadLimits.KestrelDefaults;

    public async Task OnConnectionAsync(ConnectionContext connection)
    {
        var route = services.GetService<HubRoute>();
        var socket = connection.Features.Get<IConnectionSocketFeature>()?.Socket;

        // Behind TLS (UseHttps before this middleware) the bytes read here are decrypted but the socket carries TLS
        // records: writing to it directly would corrupt the stream. Ahead of TLS (installed with the endpoint defaults,
        // as herald serve does) on an https:// port, the bytes are the TLS handshake: Kestrel's, unread — a plaintext
        // subscription there is refused by Kestrel as any plaintext request is, and a silent client meets Kestrel's
        // handshake timeout rather than a plaintext 408.
        if (route?.DirectPath is not { } path || socket is null || connection.Features.Get<ITlsConnectionFeature>() is not null
            || connection.LocalEndPoint is not IPEndPoint local || !_tls.IsCleartext(local.Port))
        {
            await next(connection).ConfigureAwait(false);
            return;
        }

        var (head, toKestrel) = await ReadHeadAsync(connection, new RequestHead.Reader(path, _limits), route, _headTimeout).ConfigureAwait(false);
        if (head is not null)
        {
            // Nothing of the request outlives the subscription's setup: the head and the HTTP context are garbage
            // once it is open, and this method must not hold the head either.
            var serving = ServeAsync(connection, socket, head, route);
            head = null;
            await serving.ConfigureAwait(false);
        }
        else if (toKestrel)
        {
            await next(connection).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Reads the first request head: the subscription when it is ours; otherwise whether Kestrel should have the
    /// connection (false: it is gone already).
    /// </summary>
    private static async Task<(RequestHead? Head, bool ToKestrel)> ReadHeadAsync(ConnectionContext connection, RequestHead.Reader reader, HubRoute route, TimeSpan headTimeout)
    {
        // A head that has not come whole within Kestrel's own limit for request heads is answered 408 and the
        // connection closed, as Kestrel answers any slow head (a client trickling bytes must not hold the connection
        // here); the deadline is checked on Kestrel's once-a-second connection heartbeat, not a timer per connection.
        // One still waiting when Kestrel asks its connections to close (shutdown) goes to Kestrel, which closes it as
        // an idle one. Both cancel the pending read rather than pass a token, so the read returns the bytes so far and
        // they can be handed over unexamined. (Nothing for the connection closing: the read ends by itself.)
        var closeRequested = connection.Features.Get<IConnectionLifetimeNotificationFeature>()?.ConnectionClosedRequested ?? CancellationToken.None;
        var input = connection.Transport.Input;
        var deadline = new HeadDeadline(input, headTimeout);
        connection.Features.Get<IConnectionHeartbeatFeature>()?.OnHeartbeat(static state => ((HeadDeadline)state).Tick(), deadline);
        var registration = closeRequested.UnsafeRegister(static state => ((HeadDeadline)state!).GiveUp(), deadline);
        var cancelSeen = false;
        try
        {
            return await ReadAsync().ConfigureAwait(false);
        }
        finally
        {
            await registration.DisposeAsync().ConfigureAwait(false);

            // Given up on after the last read: the cancellation is still pending and would end the next reader's first
            // read (Kestrel's, or the drain's). Take it here.
            if (deadline.Finish() && !cancelSeen && input.TryRead(out var stray))
            {
                input.AdvanceTo(stray.Buffer.Start);
            }
        }

        async Task<(RequestHead? Head, bool ToKestrel)> ReadAsync()
        {
            while (true)
            {
                ReadResult result;
                try
                {
                    result = await input.ReadAsync().ConfigureAwait(false);
                }
                catch (Exception e) when (e is OperationCanceledException or ConnectionResetException or IOException)
                {
                    return (null, false);
                }

                if (result.IsCanceled)
                {
                    input.AdvanceTo(result.Buffer.Start);
                    cancelSeen = true;
                    if (closeRequested.IsCancellationRequested || connection.ConnectionClosed.IsCancellationRequested)
                    {
                        return (null, !connection.ConnectionClosed.IsCancellationRequested);
                    }

                    await connection.Transport.Output.WriteAsync(RequestTimeout).ConfigureAwait(false);
                    return (null, false);
                }

                var buffer = result.Buffer;
                // The reader stops at Kestrel's limits on a head, so what is buffered here stays within them too.
                var read = reader.Read(buffer, out var head, out var end);
                if (read == RequestHead.Result.Ours && route.Admits(head!))
                {
                    input.AdvanceTo(end);
                    return (head, false);
                }

                if (read == RequestHead.Result.NeedMore && !result.IsCompleted)
                {
                    input.AdvanceTo(buffer.Start, buffer.End);
                    continue;
                }

                // Not ours: nothing consumed and nothing marked as examined, so Kestrel reads the same bytes at once.
                input.AdvanceTo(buffer.Start);
                return (null, true);
            }
        }
    }

    /// <summary>When the first head must have come whole; gives up on the read (once) when it has not.</summary>
    private sealed class HeadDeadline(PipeReader input, TimeSpan timeout)
    {
        private readonly Lock _gate = new();
        private readonly long _at = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        private bool _finished;
        private bool _gaveUp;

        /// <summary>Called on Kestrel's heartbeat for the connection's whole life: acts only while the head is awaited.</summary>
        public void Tick()
        {
            if (!Volatile.Read(ref _finished) && Environment.TickCount64 >= _at)
            {
                GiveUp();
            }
        }

        public void GiveUp()
        {
            lock (_gate)
            {
                if (!_finished && !_gaveUp)
                {
                    _gaveUp = true;
                    input.CancelPendingRead();
                }
            }
        }

        /// <summary>Stops watching; returns whether the read was given up on.</summary>
        public bool Finish()
        {
            lock (_gate)
            {
                _finished = true;
                return _gaveUp;
            }
        }
    }

    private Task ServeAsync(ConnectionContext connection, Socket socket, RequestHead head, HubRoute route)
        => DirectSubscription.ServeAsync(new KestrelConnection(connection, socket), head, route, services, _logger);

    /// <summary>A connection Kestrel accepted and this middleware took over after its first request head.</summary>
    private sealed class KestrelConnection(ConnectionContext connection, Socket socket) : DirectConnection(socket)
    {
        public override string Id => connection.ConnectionId;

        public override EndPoint? RemoteEndPoint => connection.RemoteEndPoint;

        public override EndPoint? LocalEndPoint => connection.LocalEndPoint;

        public override void Abort() => connection.Abort(new ConnectionAbortedException("The subscription was closed by the hub."));

        public override async Task DrainAsync(DirectResponse response)
        {
            var input = connection.Transport.Input;
            try
            {
                var received = 0L;
                while (received <= MaxBytesAfterHead)
                {
                    var result = await input.ReadAsync().ConfigureAwait(false);
                    received += result.Buffer.Length;
                    input.AdvanceTo(result.Buffer.End);
                    if (result.IsCanceled)
                    {
                        return;
                    }

                    if (result.IsCompleted)
                    {
                        break;
                    }
                }
            }
            catch (Exception)
            {
                // A reset or an aborted connection: the client is gone all the same.
            }

            response.ClientGone();
        }

        public override void StopDraining() => connection.Transport.Input.CancelPendingRead();
    }
}
