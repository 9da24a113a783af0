using Microsoft.AspNetCore.Http;

namespace Herald.Security;

/// <summary>Finds a request's Mercure token where clients put it.</summary>
internal static class TokenLocator
{
    public const string CookieName = "mercureAuthorization";

    /// <summary>
    /// The token from <c>Authorization: Bearer</c>, else the <c>authorization</c> query parameter, else the
    /// <c>mercureAuthorization</c> cookie. A cookie on a POST also needs an allowed Origin (or Referer): a
    /// cross-site form could otherwise publish with the user's cookie. (null, null) when there is no token.
    /// </summary>
    public static (string? Token, string? Error) Find(HttpRequest request, IList<string> publishOrigins)
    {
        var header = request.Headers.Authorization.ToString();
        if (header.Length > 0)
        {
            return header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) && header.Length > 7
                ? (header[7..].Trim(), null)
                : (null, "the Authorization header must be 'Bearer <token>'");
        }

        if (request.Query.TryGetValue("authorization", out var query) && !string.IsNullOrEmpty(query.ToString()))
        {
            return (query.ToString(), null);
        }

        if (!request.Cookies.TryGetValue(CookieName, out var cookie) || string.IsNullOrEmpty(cookie))
        {
            return (null, null);
        }

        if (!HttpMethods.IsPost(request.Method))
        {
            return (cookie, null);
        }

        var origin = request.Headers.Origin.ToString();
        if (origin.Length == 0 && Uri.TryCreate(request.Headers.Referer.ToString(), UriKind.Absolute, out var referer))
        {
            origin = referer.GetLeftPart(UriPartial.Authority);
        }

        if (origin.Length == 0)
        {
            return (null, "publishing with the mercureAuthorization cookie needs an Origin or Referer header");
        }

        foreach (var allowed in publishOrigins)
        {
            if (allowed == "*" || string.Equals(allowed.TrimEnd('/'), origin, StringComparison.OrdinalIgnoreCase))
            {
                return (cookie, null);
            }
        }

        return (null, $"origin {origin} may not publish with the mercureAuthorization cookie (see --publish-origins)");
    }
}
