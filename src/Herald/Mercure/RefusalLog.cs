using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Herald.Mercure;

/// <summary>
/// One structured line per request the hub refuses with a 4xx (<see cref="ErrorResponse"/> calls it, so every
/// endpoint and both the Kestrel and the direct path are covered): method, path, remote address, status and the
/// one-line reason the client got. Never the query string, a header or a cookie: that is where tokens travel.
/// </summary>
/// <remarks>
/// A refusal costs an attacker one request, so lines are budgeted: the first <see cref="Budget"/> refusals of each
/// <see cref="Window"/> are logged at Information (an operator sees who is refused and why, like an access log of the
/// failures), the rest at Debug, with one Warning per window counting them. A flood of bad requests thus costs the
/// log a few lines a second, not one per request, while Debug still has every one.
/// </remarks>
internal sealed class RefusalLog(ILogger<RefusalLog> logger, TimeProvider time)
{
    /// <summary>Refusals logged at Information per <see cref="Window"/>.</summary>
    internal const int Budget = 20;

    /// <summary>
    /// How much of the reason is logged: reasons may quote what the client sent (an id, a topic), and a request as
    /// large as the hub accepts must not make a line as large.
    /// </summary>
    internal const int MaxReasonLength = 256;

    /// <summary>The window the budget counts in.</summary>
    internal static readonly TimeSpan Window = TimeSpan.FromSeconds(1);

    private readonly Lock _gate = new();
    private long _windowStart = long.MinValue;
    private int _logged;
    private long _beyond;

    /// <summary>A request is answered <paramref name="status"/> with <paramref name="reason"/>.</summary>
    public void Refused(HttpContext context, int status, string reason)
    {
        bool withinBudget;
        long beyondBefore = 0;
        lock (_gate)
        {
            var now = time.GetTimestamp();
            if (_windowStart == long.MinValue || time.GetElapsedTime(_windowStart, now) >= Window)
            {
                beyondBefore = _beyond;
                _windowStart = now;
                _logged = 0;
                _beyond = 0;
            }

            withinBudget = _logged < Budget;
            if (withinBudget)
            {
                _logged++;
            }
            else
            {
                _beyond++;
            }
        }

        if (beyondBefore > 0)
        {
            HubLog.RefusalsBeyondBudget(logger, beyondBefore, Window, Budget);
        }

        var level = withinBudget ? LogLevel.Information : LogLevel.Debug;
        if (!logger.IsEnabled(level))
        {
            return;
        }

        var request = context.Request;
        var remote = context.Connection.RemoteIpAddress?.ToString();
        var shortReason = reason.Length <= MaxReasonLength ? reason : string.Concat(reason.AsSpan(0, MaxReasonLength), "…");
        var path = Printable(string.Concat(request.PathBase.Value, request.Path.Value));
        if (withinBudget)
        {
            HubLog.Refused(logger, request.Method, path, remote, status, shortReason);
        }
        else
        {
            HubLog.RefusedBeyondBudget(logger, request.Method, path, remote, status, shortReason);
        }
    }

    /// <summary>
    /// The path as the log may show it: cut like the reason, control characters (a decoded <c>%0A</c> could forge a line
    /// in the plain console format) shown as <c>?</c>. A request line may be 256 KiB long; 20 of them a second would
    /// otherwise be megabytes of log.
    /// </summary>
    internal static string Printable(string path)
    {
        var cut = path.Length <= MaxReasonLength ? path : string.Concat(path.AsSpan(0, MaxReasonLength), "…");
        foreach (var c in cut)
        {
            if (char.IsControl(c))
            {
                return string.Create(cut.Length, cut, static (span, text) =>
                {
                    for (var i = 0; i < text.Length; i++)
                    {
                        span[i] = char.IsControl(text[i]) ? '?' : text[i];
                    }
                });
            }
        }

        return cut;
    }
}
