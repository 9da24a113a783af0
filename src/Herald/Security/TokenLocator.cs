using Microsoft.AspNetCore.Http;

namespace Herald.Security;

/// <summary>
/// Finds the token a request presents (Mercure 1.0, "Presenting the Access Token"): the <c>Authorization: Bearer</c>
/// header, which wins, else the cookie <see cref="HeraldOptions.CookieName"/>. When <see cref="HeraldOptions.Protocol"/>
/// is <see cref="MercureProtocol.Compatible"/>, 0.x clients' places too, in the 0.x hub's order: the <c>authorization</c>
/// query parameter after the header, and the <c>mercureAuthorization</c> cookie after the 1.0 one.
/// </summary>
/// <remarks>
/// <para>
/// The first place that is present decides: a malformed header is an error, not a reason to look at the cookie, so a
/// client never silently gets rights other than those it meant to present. A header beside a cookie is not an error
/// (RFC 6750 would call it one, but browsers attach cookies whether the client chose them or not).
/// </para>
/// <para>
/// Where the token came from is kept (<see cref="TokenSource"/>): a 1.0 token is refused from the query string, where it
/// leaks into logs and history (RFC 9700); only the 0.x clients that know no other way may still send one there. The
/// <c>mercureAuthorization</c> cookie may carry either generation: a cookie does not leak the way a URL does, and an
/// app can then switch its tokens to 1.0 before it renames its cookie.
/// </para>
/// </remarks>
internal static class TokenLocator
{
    public const string LegacyCookieName = "mercureAuthorization";
    public const string QueryParameterName = "authorization";

    public const string CookieOriginError = "cookie-based publish requires an allowed Origin";

    private const string BearerPrefix = "Bearer ";

    /// <summary>
    /// The token and where it was found; <see cref="PresentedToken.Refusal"/> when the presentation itself is refused
    /// (malformed, or a cookie on a <c>POST</c> from an origin not in <see cref="HeraldOptions.PublishOrigins"/>, whose
    /// <c>Origin</c> header, or else the origin of its <c>Referer</c>, is checked); no token and no refusal when the
    /// request carries none.
    /// </summary>
    public static PresentedToken Find(HttpRequest request, HeraldOptions options)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(options);
        var compatible = options.Protocol != MercureProtocol.V1;

        var authorization = request.Headers.Authorization;
        if (authorization.Count > 0)
        {
            var value = authorization.Count == 1 ? authorization[0] : null;

            // The scheme is matched ignoring case, as every HTTP authentication scheme (RFC 9110 §11.1).
            if (value is null
                || !value.StartsWith(BearerPrefix, StringComparison.OrdinalIgnoreCase)
                || value.AsSpan(BearerPrefix.Length).Trim().IsEmpty)
            {
                return PresentedToken.Refused(TokenOutcome.InvalidRequest("invalid Authorization header: expected one 'Bearer <token>'"));
            }

            return new PresentedToken(value[BearerPrefix.Length..].Trim(), TokenSource.AuthorizationHeader, null);
        }

        if (request.Query.TryGetValue(QueryParameterName, out var query))
        {
            if (!compatible)
            {
                // Not ignored: the token has already leaked into the URL, and the client should hear that it must not.
                return PresentedToken.Refused(TokenOutcome.InvalidRequest("tokens are not accepted in the query string: send Authorization: Bearer or the cookie"));
            }

            var value = query.Count == 1 ? query[0] : null;
            if (string.IsNullOrWhiteSpace(value))
            {
                return PresentedToken.Refused(TokenOutcome.InvalidRequest("invalid authorization query parameter: expected one token"));
            }

            return new PresentedToken(value.Trim(), TokenSource.QueryParameter, null);
        }

        // An empty cookie is how a logout usually clears it: treat it as no token, not as a bad one.
        var (cookie, source) = (request.Cookies[options.CookieName], TokenSource.Cookie);
        if (string.IsNullOrEmpty(cookie) && compatible)
        {
            (cookie, source) = (request.Cookies[LegacyCookieName], TokenSource.LegacyCookie);
        }

        if (string.IsNullOrEmpty(cookie))
        {
            return default;
        }

        // Browsers attach cookies to cross-site requests; a form POST from any page could publish with the
        // user's rights (CSRF). Only POST changes state, so only POST needs its origin checked.
        if (HttpMethods.IsPost(request.Method) && !IsAllowedOrigin(request, options.PublishOrigins))
        {
            // Mercure 1.0 ("Error Responses"): a malformed presentation, 400 invalid_request; the 0.x cookie keeps the 401
            // 0.x hubs answer (with the same challenge) while the hub speaks 0.x too.
            return PresentedToken.Refused(TokenOutcome.OriginRefused(CookieOriginError, legacyCookie: source == TokenSource.LegacyCookie));
        }

        return new PresentedToken(cookie, source, null);
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

/// <summary>Where a request presented its token.</summary>
internal enum TokenSource
{
    None,

    /// <summary><c>Authorization: Bearer</c>.</summary>
    AuthorizationHeader,

    /// <summary>The cookie <see cref="HeraldOptions.CookieName"/>.</summary>
    Cookie,

    /// <summary>The Mercure 0.x <c>authorization</c> query parameter (compatible mode only; never for a 1.0 token).</summary>
    QueryParameter,

    /// <summary>The Mercure 0.x <c>mercureAuthorization</c> cookie (compatible mode only).</summary>
    LegacyCookie,
}

/// <summary>A request's token and where it was found, or why its presentation is refused (<see cref="Refusal"/>).</summary>
internal readonly record struct PresentedToken(string? Token, TokenSource Source, TokenOutcome? Refusal)
{
    public static PresentedToken Refused(TokenOutcome refusal) => new(null, TokenSource.None, refusal);
}
