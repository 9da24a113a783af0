using Microsoft.AspNetCore.Http;

namespace Herald.Mercure;

/// <summary>
/// Error answers: a status and one line saying what is wrong, never a stack trace. Authorization failures carry an
/// RFC 6750 <c>WWW-Authenticate: Bearer</c> challenge naming the hub's RFC 9728 metadata (Mercure 1.0, "Error Responses").
/// </summary>
internal static class ErrorResponse
{
    public static Task WriteAsync(HttpContext context, int status, string reason)
    {
        if (status == StatusCodes.Status401Unauthorized && context.Response.Headers.WWWAuthenticate.Count == 0)
        {
            context.Response.Headers.WWWAuthenticate = "Bearer";
        }

        return WriteBodyAsync(context, status, reason);
    }

    /// <summary>
    /// 401: no token where one is needed (<paramref name="invalidToken"/> false: a bare challenge), or a token that is
    /// not valid (<c>error="invalid_token"</c>, one code for every failure).
    /// </summary>
    public static Task UnauthorizedAsync(HttpContext context, string hubUrl, bool invalidToken, string reason)
    {
        context.Response.Headers.WWWAuthenticate = Challenge(invalidToken ? "invalid_token" : null, hubUrl);
        return WriteBodyAsync(context, StatusCodes.Status401Unauthorized, reason);
    }

    /// <summary>403 <c>insufficient_scope</c>: a valid token that does not grant the action on the topic.</summary>
    public static Task ForbiddenAsync(HttpContext context, string hubUrl, string reason)
    {
        context.Response.Headers.WWWAuthenticate = Challenge("insufficient_scope", hubUrl);
        return WriteBodyAsync(context, StatusCodes.Status403Forbidden, reason);
    }

    /// <summary>400 <c>invalid_request</c>: the token's presentation is malformed (two tokens, a broken header).</summary>
    public static Task InvalidRequestAsync(HttpContext context, string hubUrl, string reason)
    {
        context.Response.Headers.WWWAuthenticate = Challenge("invalid_request", hubUrl);
        return WriteBodyAsync(context, StatusCodes.Status400BadRequest, reason);
    }

    /// <summary>The RFC 6750 challenge, with RFC 9728's <c>resource_metadata</c>.</summary>
    public static string Challenge(string? error, string hubUrl)
    {
        var metadata = ProtectedResourceMetadata.UrlFor(hubUrl);
        return error is null
            ? $"Bearer resource_metadata=\"{metadata}\""
            : $"Bearer error=\"{error}\", resource_metadata=\"{metadata}\"";
    }

    private static Task WriteBodyAsync(HttpContext context, int status, string reason)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "text/plain; charset=utf-8";
        return context.Response.WriteAsync(reason + "\n", context.RequestAborted);
    }
}
