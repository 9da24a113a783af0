using System.Net;
using System.Net.Sockets;

namespace Herald.DirectHttp;

/// <summary>A connection the hub took over to serve one subscription on it directly.</summary>
internal abstract class DirectConnection
{
    protected DirectConnection(Socket socket)
    {
        // Taken over: from now on the hub's writes never wait — a full socket reports WouldBlock and the rest goes
        // asynchronously. The server's own reads on this socket are asynchronous and do not care.
        socket.Blocking = false;
        Socket = socket;
    }

    public Socket Socket { get; }

    public abstract string Id { get; }

    public abstract EndPoint? RemoteEndPoint { get; }

    public abstract EndPoint? LocalEndPoint { get; }

    /// <summary>Ends the connection at once.</summary>
    public abstract void Abort();

    /// <summary>
    /// How much a client may send after its subscription's head before it is cut: an event-stream request has no
    /// body, and a client that keeps sending only costs the hub reads.
    /// </summary>
    public const int MaxBytesAfterHead = 64 * 1024;

    /// <summary>
    /// Reads and drops whatever else the client sends (an event-stream request has no body): keeps the receive side
    /// moving, and tells the response the moment the client closes its side (<see cref="DirectResponse.ClientGone"/>),
    /// or has sent more than <see cref="MaxBytesAfterHead"/>. Returns when the client is gone or
    /// <see cref="StopDraining"/> was called.
    /// </summary>
    public abstract Task DrainAsync(DirectResponse response);

    public abstract void StopDraining();
}
