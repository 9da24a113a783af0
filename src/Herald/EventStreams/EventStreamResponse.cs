using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;

namespace Herald.EventStreams;

/// <summary>What every Herald event-stream response does before its first byte.</summary>
internal static class EventStreamResponse
{
    public const string ContentType = "text/event-stream";

    /// <summary>Sets the SSE headers and turns off buffering, compression and the minimum data rate.</summary>
    public static void Prepare(HttpContext context, bool isPrivate)
    {
        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = ContentType;
        response.Headers.CacheControl = isPrivate ? "no-store" : "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        response.Headers.ContentEncoding = "identity";
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();

        // A stream may legitimately stay silent between heartbeats; Kestrel must not cut it as too slow.
        if (context.Features.Get<IHttpMinResponseDataRateFeature>() is { } rate)
        {
            rate.MinDataRate = null;
        }
    }

    /// <summary>The <c>Last-Event-ID</c> header, or <c>null</c>.</summary>
    public static string? GetLastEventId(HttpRequest request)
        => request.Headers.TryGetValue("Last-Event-ID", out var value) && value.Count > 0 ? value[0] : null;
}
