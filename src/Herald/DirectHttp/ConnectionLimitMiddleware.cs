using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;

namespace Herald.DirectHttp;

/// <summary>
/// Kestrel connection middleware that keeps the hub's connections under its <see cref="ConnectionLimit"/> (shared by
/// every endpoint): a connection over it is answered 503 with <c>Retry-After</c> and closed before anything else on the
/// endpoint (TLS, <see cref="SubscribeConnectionMiddleware"/>, Kestrel's HTTP) sees it.
/// </summary>
/// <remarks>
/// Kestrel's accept loop retries at once on every accept error, out of descriptors (EMFILE) included: once the process
/// has none left it spins at a whole core until one is freed, and no public API pauses it. The defence is to never
/// get there: the limit stays under the open-file limit with headroom (<see cref="ConnectionLimit.Resolve"/>), and a
/// refused connection holds its descriptor only while its 503 goes out (a few seconds at most, and not at all past
/// a few refusals at once).
/// </remarks>
internal sealed class ConnectionLimitMiddleware(ConnectionDelegate next, ConnectionLimit connections)
{
    /// <summary>How long a refused connection is read from (so its close is not a reset that loses the 503).</summary>
    private static readonly TimeSpan RefusalLinger = TimeSpan.FromSeconds(5);

    private const string TooManyConnectionsReason = "too many connections to the hub, retry later\n";

    private static readonly byte[] TooManyConnections = Encoding.ASCII.GetBytes(
        "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 5\r\nContent-Type: text/plain; charset=utf-8\r\n"
        + $"Content-Length: {TooManyConnectionsReason.Length}\r\nConnection: close\r\n\r\n{TooManyConnectionsReason}");

    public async Task OnConnectionAsync(ConnectionContext connection)
    {
        if (!connections.TryTake())
        {
            await RefuseAsync(connection).ConfigureAwait(false);
            return;
        }

        // Kestrel awaits the rest of the chain for the connection's whole life, a subscription served on it included.
        try
        {
            await next(connection).ConfigureAwait(false);
        }
        finally
        {
            connections.Release();
        }
    }

    /// <summary>
    /// Answers a connection over the limit 503 with <c>Retry-After</c> and closes it. The client's request is read
    /// (and dropped) until it closes, for a few seconds at most: closing with it unread would send a reset, which can
    /// destroy the answer before the client reads it. Past a few refusals at once, the connection is closed at once:
    /// refusing must not cost the descriptors the limit keeps free.
    /// </summary>
    private async Task RefuseAsync(ConnectionContext connection)
    {
        if (!connections.TryStartRefusal())
        {
            connection.Abort();
            return;
        }

        try
        {
            // Written to the socket itself so the FIN can follow at once while the request is still read: Kestrel's
            // transport closes the whole socket when its output completes, unread bytes and all.
            if (connection.Features.Get<IConnectionSocketFeature>()?.Socket is not { } socket)
            {
                await connection.Transport.Output.WriteAsync(TooManyConnections).ConfigureAwait(false);
                return;
            }

            socket.Blocking = false;
            socket.Send(TooManyConnections, SocketFlags.None, out _);
            socket.Shutdown(SocketShutdown.Send);
            using var linger = new CancellationTokenSource(RefusalLinger);
            var input = connection.Transport.Input;
            var received = 0L;
            while (received < DirectConnection.MaxBytesAfterHead)
            {
                var result = await input.ReadAsync(linger.Token).ConfigureAwait(false);
                received += result.Buffer.Length;
                input.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted || result.IsCanceled)
                {
                    break;
                }
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException or ConnectionResetException or IOException)
        {
            // Gone, or slow to close: either way the connection ends here.
        }
        finally
        {
            connections.EndRefusal();
        }
    }
}
