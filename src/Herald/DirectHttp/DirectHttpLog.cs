using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace Herald.DirectHttp;

/// <summary>The direct HTTP/1.1 path's log messages (event ids 400-499).</summary>
internal static partial class DirectHttpLog
{
    [LoggerMessage(400, LogLevel.Information, "Listening on {EndPoint}; at most {MaxConnections} connections at once (all endpoints).")]
    public static partial void Listening(ILogger logger, EndPoint? endPoint, int maxConnections);

    [LoggerMessage(401, LogLevel.Warning, "Accepting connections failed ({Error}); retrying with a pause.")]
    public static partial void AcceptFailed(ILogger logger, SocketError error);

    [LoggerMessage(
        402,
        LogLevel.Warning,
        "Herald:MaxConnections is {Configured}, more than the open-file limit leaves room for; using {Limit}. Raise the limit (ulimit -n, LimitNOFILE) for more.")]
    public static partial void MaxConnectionsLowered(ILogger logger, int configured, long limit);

    [LoggerMessage(403, LogLevel.Error, "A subscription served on connection {ConnectionId} failed.")]
    public static partial void SubscriptionFailed(ILogger logger, Exception exception, string connectionId);
}
