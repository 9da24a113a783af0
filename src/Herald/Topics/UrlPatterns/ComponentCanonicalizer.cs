using System.Buffers;

namespace Herald.Topics.UrlPatterns;

/// <summary>
/// Canonicalization of URL Pattern components: the encoding callbacks run on a pattern's fixed text, and the
/// canonicalization of the components of a URL being matched. As the npm <c>urlpattern-polyfill</c> does it (through the
/// URL setters of an <c>https://example.com</c> URL), so that the differential test and the web-platform-tests agree:
/// notably, hostnames are canonicalized as special hosts whatever the scheme, so a host is case-insensitive for every
/// scheme (Mercure 1.0: "Host components remain case-insensitive").
/// Every method throws <see cref="UrlPatternException"/> on a value that cannot be canonicalized.
/// </summary>
internal static class ComponentCanonicalizer
{
    private static readonly SearchValues<char> ForbiddenHostname = SearchValues.Create("\t\n\r #%/:<>?@[\\]^|");
    private static readonly SearchValues<char> Scheme = SearchValues.Create("+-.0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");
    private static readonly SearchValues<char> IPv6 = SearchValues.Create("0123456789abcdefABCDEF[]:");

    public static string Protocol(string value)
    {
        if (value.Length == 0)
        {
            return value;
        }

        return value.AsSpan().IndexOfAnyExcept(Scheme) < 0 ? value.ToLowerInvariant() : throw new UrlPatternException("a protocol is not a valid scheme");
    }

    public static string Username(string value) => PercentEncoding.Encode(value, PercentEncoding.Set.Userinfo);

    public static string Password(string value) => PercentEncoding.Encode(value, PercentEncoding.Set.Userinfo);

    public static string Hostname(string value)
    {
        if (value.Length == 0)
        {
            return value;
        }

        if (value.AsSpan().ContainsAny(ForbiddenHostname))
        {
            throw new UrlPatternException("a hostname holds a character no host may hold");
        }

        return HostParser.Parse(value, isOpaque: false) ?? throw new UrlPatternException("a hostname is not a valid host");
    }

    public static string IPv6Hostname(string value)
    {
        if (value.AsSpan().IndexOfAnyExcept(IPv6) >= 0)
        {
            throw new UrlPatternException("an IPv6 hostname holds a character no IPv6 address may hold");
        }

        return value.ToLowerInvariant();
    }

    /// <summary>Whether a hostname (pattern or value) is to be read as an IPv6 address: <c>[</c>, <c>\[</c> or <c>{[</c> first.</summary>
    public static bool TreatAsIPv6(string value) =>
        value.Length >= 2 && (value[0] == '[' || (value[0] is '\\' or '{' && value[1] == '['));

    public static string Port(string value)
    {
        if (value.Length == 0 || (value.Length <= 5 && value.AsSpan().IndexOfAnyExceptInRange('0', '9') < 0 && int.Parse(value, System.Globalization.CultureInfo.InvariantCulture) <= 65535))
        {
            return value;
        }

        throw new UrlPatternException("a port is not a number from 0 to 65535");
    }

    /// <summary>A path of a special-scheme URL, through the <c>pathname</c> setter (a leading <c>/-</c> keeps relative text relative).</summary>
    public static string SpecialPathname(string value)
    {
        if (value.Length == 0)
        {
            return value;
        }

        var relative = value[0] != '/';
        var url = DummyUrl();
        _ = UrlParser.ParseInto(relative ? "/-" + value : value, url, UrlParserState.PathStart);
        var path = url.SerializePath();
        return relative ? path[2..] : path;
    }

    /// <summary>
    /// The path of a pattern whose protocol is not special (<c>urn:</c>, <c>data:</c> …), as the path of <c>data:</c>
    /// followed by the text: opaque, unless the text starts with <c>/</c> (a base URL's directory put before it).
    /// </summary>
    public static string OpaquePathname(string value) =>
        value.Length == 0 ? value : UrlParser.Parse("data:" + value)?.SerializePath() ?? string.Empty;

    public static string Search(string value) => ThroughSetter(value, '?', UrlParserState.Query);

    public static string Hash(string value) => ThroughSetter(value, '#', UrlParserState.Fragment);

    /// <summary>The <c>search</c> and <c>hash</c> setters: one leading <c>?</c> (<c>#</c>) dropped, the rest parsed in its state.</summary>
    private static string ThroughSetter(string value, char prefix, UrlParserState state)
    {
        if (value.Length == 0)
        {
            return value;
        }

        var url = DummyUrl();
        var query = state == UrlParserState.Query;
        url.Query = query ? string.Empty : null;
        url.Fragment = query ? null : string.Empty;
        _ = UrlParser.ParseInto(value[0] == prefix ? value[1..] : value, url, state);
        return (query ? url.Query : url.Fragment) ?? string.Empty;
    }

    /// <summary>The pathname of a URL being matched whose protocol is <paramref name="protocol"/> (a whole-URL parse, as the polyfill does).</summary>
    public static string PathnameOfUrl(string value, string protocol)
    {
        if (value.Length == 0)
        {
            return value;
        }

        if (protocol.Length > 0 && !SpecialSchemes.IsSpecial(protocol))
        {
            return UrlParser.Parse(protocol + ":" + value)?.SerializePath() ?? throw new UrlPatternException("a pathname is not valid");
        }

        var relative = value[0] != '/';
        var path = UrlParser.Parse(relative ? "/-" + value : value, UrlParser.Parse("https://example.com"))?.SerializePath() ?? throw new UrlPatternException("a pathname is not valid");
        return relative ? path[2..] : path;
    }

    private static UrlRecord DummyUrl() => new() { Scheme = "https", Host = "example.com" };
}
