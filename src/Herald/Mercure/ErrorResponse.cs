using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

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

    /// <summary>
    /// The RFC 6750 challenge (section 3): <c>Bearer</c>, then <c>error</c> when there is one (never for a request
    /// without a token), then RFC 9728's <c>resource_metadata</c> naming the hub's metadata by its absolute URL (left
    /// out when <paramref name="hubUrl"/> is no absolute http(s) URL). Values are quoted-strings (RFC 9110 §5.6.4).
    /// </summary>
    public static string Challenge(string? error, string hubUrl)
    {
        var metadata = ProtectedResourceMetadata.UrlFor(hubUrl);
        var challenge = new StringBuilder("Bearer");
        var separator = " ";
        if (error is not null)
        {
            challenge.Append(separator).Append("error=");
            AppendQuoted(challenge, error);
            separator = ", ";
        }

        if (metadata is not null)
        {
            challenge.Append(separator).Append("resource_metadata=");
            AppendQuoted(challenge, metadata);
        }

        return challenge.ToString();
    }

    /// <summary>A quoted-string: <c>"</c> and <c>\</c> escaped with a backslash.</summary>
    private static void AppendQuoted(StringBuilder to, string value)
    {
        to.Append('"');
        foreach (var c in value)
        {
            if (c is '"' or '\\')
            {
                to.Append('\\');
            }

            to.Append(c);
        }

        to.Append('"');
    }

    /// <summary>
    /// 503 with <c>Retry-After</c> for this request alone, because it would pass a hub-wide limit (not an outage of the
    /// store, which <see cref="StoreOutageLog"/> reports once per outage): logged like a 4xx refusal.
    /// </summary>
    public static Task OverLimitAsync(HttpContext context, string retryAfterSeconds, string reason)
    {
        context.Response.Headers.RetryAfter = retryAfterSeconds;
        context.RequestServices?.GetService<RefusalLog>()?.Refused(context, StatusCodes.Status503ServiceUnavailable, reason);
        return WriteUnloggedAsync(context, StatusCodes.Status503ServiceUnavailable, reason);
    }

    private static Task WriteBodyAsync(HttpContext context, int status, string reason)
    {
        // Every refusal passes here, on both paths: the one place it is logged. 5xx are the store's outages, which
        // StoreOutageLog reports once per outage instead of once per request, and over-limit answers (OverLimitAsync).
        if (status < StatusCodes.Status500InternalServerError)
        {
            context.RequestServices?.GetService<RefusalLog>()?.Refused(context, status, reason);
        }

        return WriteUnloggedAsync(context, status, reason);
    }

    private static Task WriteUnloggedAsync(HttpContext context, int status, string reason)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "text/plain; charset=utf-8";
        return context.Response.WriteAsync(reason + "\n", context.RequestAborted);
    }
}
