using Microsoft.AspNetCore.Http;

namespace Herald.Security;

/// <summary>
/// Finds a request's Mercure token where the reference hub looks, in its order: the <c>Authorization: Bearer</c>
/// header, then the <c>authorization</c> query parameter, then the <c>mercureAuthorization</c> cookie.
/// </summary>
/// <remarks>
/// The first place that is present decides: a malformed header is an error, not a reason to look at the cookie,
/// so a client never silently gets rights other than those it meant to present.
/// </remarks>
internal static class TokenLocator
{
    public const string CookieName = "mercureAuthorization";
    public const string QueryParameterName = "authorization";

    public const string CookieOriginError = "cookie-based publish requires an allowed Origin";

    private const string BearerPrefix = "Bearer ";

    /// <summary>
    /// The token, an <c>Error</c> (one line, for a 401 body), or <c>(null, null)</c> when the request carries none.
    /// A <c>POST</c> authenticated by cookie must come from an origin in <paramref name="publishOrigins"/>
    /// (<c>*</c>: any); its <c>Origin</c> header, or else the origin of its <c>Referer</c>, is checked.
    /// </summary>
    public static (string? Token, string? Error) Find(HttpRequest request, IList<string> publishOrigins)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(publishOrigins);

        var authorization = request.Headers.Authorization;
        if (authorization.Count > 0)
        {
            var value = authorization.Count == 1 ? authorization[0] : null;
            if (value is null
                || !value.StartsWith(BearerPrefix, StringComparison.OrdinalIgnoreCase)
                || value.AsSpan(BearerPrefix.Length).Trim().IsEmpty)
            {
                return (null, "invalid Authorization header: expected one 'Bearer <token>'");
            }

            return (value[BearerPrefix.Length..].Trim(), null);
        }

        if (request.Query.TryGetValue(QueryParameterName, out var query))
        {
            var value = query.Count == 1 ? query[0] : null;
            if (string.IsNullOrWhiteSpace(value))
            {
                return (null, "invalid authorization query parameter: expected one token");
            }

            return (value.Trim(), null);
        }

        // An empty cookie is how a logout usually clears it: treat it as no token, not as a bad one.
        var cookie = request.Cookies[CookieName];
        if (string.IsNullOrEmpty(cookie))
        {
            return (null, null);
        }

        // Browsers attach cookies to cross-site requests; a form POST from any page could publish with the
        // user's rights (CSRF). Only POST changes state, so only POST needs its origin checked.
        if (HttpMethods.IsPost(request.Method) && !IsAllowedOrigin(request, publishOrigins))
        {
            return (null, CookieOriginError);
        }

        return (cookie, null);
    }

    private static bool IsAllowedOrigin(HttpRequest request, IList<string> publishOrigins)
    {
        var origin = Origin(request);

        // No Origin and no Referer is refused even with "*", as in the reference hub: browsers send an Origin on
        // every cross-origin POST, so a cookie without one comes from something that is not playing by the rules.
        if (origin is null)
        {
            return false;
        }

        return AllowedOrigins.Contains(publishOrigins, origin);
    }

    private static string? Origin(HttpRequest request)
    {
        var origin = request.Headers.Origin;
        if (origin.Count > 0)
        {
            return origin.Count == 1 && !string.IsNullOrEmpty(origin[0]) ? origin[0] : null;
        }

        var referer = request.Headers.Referer;
        if (referer.Count == 1
            && Uri.TryCreate(referer[0], UriKind.Absolute, out var uri)
            && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp))
        {
            // Authority leaves out user info and a default port, as a browser's Origin does.
            return uri.Scheme + "://" + uri.Authority;
        }

        return null;
    }
}
