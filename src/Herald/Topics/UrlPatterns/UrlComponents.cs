using System.Globalization;

namespace Herald.Topics.UrlPatterns;

/// <summary>
/// The eight components of a URL as URL patterns match them. A topic is parsed into these once, then matched against
/// every pattern that resolves against the same base URL.
/// </summary>
internal sealed record UrlComponents(string Protocol, string Username, string Password, string Hostname, string Port, string Pathname, string Search, string Hash)
{
    /// <summary>
    /// Parses <paramref name="input"/> as a URL reference against <paramref name="baseUrl"/>; null when it is not one
    /// (Mercure 1.0: such a topic matches no URL pattern).
    /// </summary>
    public static UrlComponents? Parse(string input, UrlRecord? baseUrl)
    {
        var url = UrlParser.Parse(input, baseUrl);
        if (url is null)
        {
            return null;
        }

        try
        {
            // The host goes through the hostname canonicalization patterns get (as the polyfill does), so an opaque host
            // (a scheme that is not special) is lowercased too and a host the pattern side could never spell matches nothing.
            // Search and hash are idempotent under theirs except for a quote in a non-special query, encoded as a pattern's is.
            return new UrlComponents(
                url.Scheme,
                url.Username,
                url.Password,
                UrlPatternInit.CanonicalizeHostname(url.Host ?? string.Empty),
                url.Port?.ToString(CultureInfo.InvariantCulture) ?? string.Empty,
                url.SerializePath(),
                url.Query is null ? string.Empty : ComponentCanonicalizer.Search(url.Query),
                url.Fragment is null ? string.Empty : ComponentCanonicalizer.Hash(url.Fragment));
        }
        catch (UrlPatternException)
        {
            return null;
        }
    }

    /// <summary>The components of a processed URLPatternInit (absent ones empty).</summary>
    public static UrlComponents FromInit(UrlPatternInit init) => new(
        init.Protocol ?? string.Empty,
        init.Username ?? string.Empty,
        init.Password ?? string.Empty,
        init.Hostname ?? string.Empty,
        init.Port ?? string.Empty,
        init.Pathname ?? string.Empty,
        init.Search ?? string.Empty,
        init.Hash ?? string.Empty);
}
