using Herald.Mercure;
using Microsoft.AspNetCore.Http;

namespace Herald.Security;

/// <summary>
/// CORS for the hub's own endpoints, applied by the hub rather than by middleware so that a hub mounted with
/// <c>MapHerald()</c> works from browsers without the host app configuring anything.
/// </summary>
/// <remarks>
/// Credentials (the <c>mercureAuthorization</c> cookie, HTTP auth) are allowed only for origins listed by name, and
/// only those are echoed. <c>*</c> answers <c>Access-Control-Allow-Origin: *</c> without credentials: echoing any
/// origin with <c>Access-Control-Allow-Credentials: true</c>, as the hub used to, let every site read the private
/// streams of a signed-in visitor with the visitor's cookie. The opaque origin <c>null</c> is never echoed, whatever
/// the list says: any page can send it from a sandboxed frame.
/// </remarks>
internal static class CorsHeaders
{
    private const string AllowedHeaders = "authorization, cache-control, last-event-id, content-type";

    /// <summary>
    /// What a cross-origin script may read of an answer, besides the CORS-safelisted headers: Mercure-Last-Event-ID (1.0)
    /// and Last-Event-ID (0.x) say where a resumed stream starts; WWW-Authenticate carries the RFC 6750 error and the
    /// <c>resource_metadata</c> URL of a 401/403 (a 1.0 client reads them to fetch a fresh token); Retry-After says when to
    /// come back from a 503 (store outage, matcher cap, shutdown drain). None of them holds a secret.
    /// </summary>
    internal const string ExposedHeaders = "Last-Event-ID, Mercure-Last-Event-ID, WWW-Authenticate, Retry-After";

    /// <summary>Adds the CORS answer when the request's Origin is allowed. Returns whether it was.</summary>
    public static bool Apply(HttpContext context, IList<string> allowedOrigins)
    {
        var origin = context.Request.Headers.Origin.ToString();
        if (origin.Length == 0 || allowedOrigins.Count == 0)
        {
            return false;
        }

        var headers = context.Response.Headers;
        if (AllowedOrigins.ContainsByName(allowedOrigins, origin))
        {
            headers.AccessControlAllowOrigin = origin;
            headers.AccessControlAllowCredentials = "true";
        }
        else if (AllowedOrigins.ContainsWildcard(allowedOrigins))
        {
            headers.AccessControlAllowOrigin = AllowedOrigins.Any;
        }
        else
        {
            return false;
        }

        headers.AccessControlExposeHeaders = ExposedHeaders;

        // The answer depends on the Origin whenever some origins are named: caches must not hand one site's answer to another.
        headers.Vary = "Origin";
        return true;
    }

    /// <summary>Answers a preflight request.</summary>
    public static Task Preflight(HttpContext context, IList<string> allowedOrigins)
    {
        if (!Apply(context, allowedOrigins))
        {
            return ErrorResponse.WriteAsync(context, StatusCodes.Status403Forbidden, "origin not allowed by the hub's cors_origins");
        }

        var headers = context.Response.Headers;
        headers.AccessControlAllowMethods = "GET, POST, QUERY, OPTIONS";
        headers.AccessControlAllowHeaders = AllowedHeaders;
        headers.AccessControlMaxAge = "600";
        context.Response.StatusCode = StatusCodes.Status204NoContent;
        return Task.CompletedTask;
    }
}
