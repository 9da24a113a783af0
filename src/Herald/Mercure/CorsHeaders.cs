using Herald.Security;
using Microsoft.AspNetCore.Http;

namespace Herald.Mercure;

/// <summary>
/// CORS for the hub's own endpoints, applied by the hub rather than by middleware so that a hub mounted with
/// <c>MapHerald()</c> works from browsers without the host app configuring anything.
/// </summary>
internal static class CorsHeaders
{
    private const string AllowedHeaders = "authorization, cache-control, last-event-id, content-type";

    /// <summary>Adds the CORS answer when the request's Origin is allowed. Returns whether it was.</summary>
    public static bool Apply(HttpContext context, IList<string> allowedOrigins)
    {
        var origin = context.Request.Headers.Origin.ToString();
        if (origin.Length == 0 || !AllowedOrigins.Contains(allowedOrigins, origin))
        {
            return false;
        }

        var headers = context.Response.Headers;
        headers.AccessControlAllowOrigin = origin;
        headers.AccessControlAllowCredentials = "true";
        headers.AccessControlExposeHeaders = "Last-Event-ID";
        headers.Vary = "Origin";
        return true;
    }

    /// <summary>Answers a preflight request.</summary>
    public static Task Preflight(HttpContext context, IList<string> allowedOrigins)
    {
        if (!Apply(context, allowedOrigins))
        {
            return HubResults.WriteError(context, StatusCodes.Status403Forbidden, "origin not allowed by the hub's cors_origins");
        }

        var headers = context.Response.Headers;
        headers.AccessControlAllowMethods = "GET, POST, OPTIONS";
        headers.AccessControlAllowHeaders = AllowedHeaders;
        headers.AccessControlMaxAge = "600";
        context.Response.StatusCode = StatusCodes.Status204NoContent;
        return Task.CompletedTask;
    }
}
