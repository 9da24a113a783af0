using System.Diagnostics.CodeAnalysis;

namespace Herald.Topics.UrlPatterns;

/// <summary>
/// A compiled WHATWG URL Pattern (Mercure 1.0 <c>urlpattern</c> matcher), relative patterns resolved against the hub URL.
/// </summary>
internal sealed class UrlPattern
{
    private UrlPattern(string text, string baseUrl)
    {
        Text = text;
        BaseUrl = baseUrl;
    }

    /// <summary>The pattern as the client or token gave it.</summary>
    public string Text { get; }

    /// <summary>The URL relative patterns and relative topics resolve against (the hub URL).</summary>
    public string BaseUrl { get; }

    /// <summary>Compiles <paramref name="pattern"/>; on failure <paramref name="error"/> says why in one line fit for a 400.</summary>
    public static bool TryParse(string pattern, string baseUrl, [NotNullWhen(true)] out UrlPattern? result, [NotNullWhen(false)] out string? error)
    {
        // Placeholder until the URL Pattern engine lands: every pattern is refused.
        _ = new UrlPattern(pattern, baseUrl);
        result = null;
        error = "URL patterns are not supported yet";
        return false;
    }

    /// <summary>Whether <paramref name="topic"/> (resolved against <see cref="BaseUrl"/>) matches; a topic that does not parse matches nothing.</summary>
    public bool Matches(string topic) => false;
}
