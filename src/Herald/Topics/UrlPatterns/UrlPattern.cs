using System.Diagnostics.CodeAnalysis;

namespace Herald.Topics.UrlPatterns;

/// <summary>
/// A compiled WHATWG URL Pattern (Mercure 1.0 <c>urlpattern</c> matcher), relative patterns resolved against the hub URL.
/// <c>ignoreCase</c> is always off; every component matches in time linear in its length (see <see cref="PatternComponent"/>).
/// </summary>
internal sealed class UrlPattern
{
    private readonly PatternComponent _protocol;
    private readonly PatternComponent _username;
    private readonly PatternComponent _password;
    private readonly PatternComponent _hostname;
    private readonly PatternComponent _port;
    private readonly PatternComponent _pathname;
    private readonly PatternComponent _search;
    private readonly PatternComponent _hash;

    private UrlPattern(string text, string baseUrl, UrlRecord? baseRecord, bool isRelative, UrlPatternInit processed)
    {
        Text = text;
        BaseUrl = baseUrl;
        BaseRecord = baseRecord;
        IsRelative = isRelative;
        _protocol = PatternComponent.Compile(processed.Protocol!, ComponentCanonicalizer.Protocol, PatternOptions.Default);
        _username = PatternComponent.Compile(processed.Username!, ComponentCanonicalizer.Username, PatternOptions.Default);
        _password = PatternComponent.Compile(processed.Password!, ComponentCanonicalizer.Password, PatternOptions.Default);
        _hostname = ComponentCanonicalizer.TreatAsIPv6(processed.Hostname!)
            ? PatternComponent.Compile(processed.Hostname!, ComponentCanonicalizer.IPv6Hostname, PatternOptions.Hostname)
            : PatternComponent.Compile(processed.Hostname!, ComponentCanonicalizer.Hostname, PatternOptions.Hostname);
        _port = PatternComponent.Compile(processed.Port!, ComponentCanonicalizer.Port, PatternOptions.Default);
        _pathname = _protocol.MatchesSpecialScheme()
            ? PatternComponent.Compile(processed.Pathname!, ComponentCanonicalizer.SpecialPathname, PatternOptions.Pathname)
            : PatternComponent.Compile(processed.Pathname!, ComponentCanonicalizer.OpaquePathname, PatternOptions.Default);
        _search = PatternComponent.Compile(processed.Search!, ComponentCanonicalizer.Search, PatternOptions.Default);
        _hash = PatternComponent.Compile(processed.Hash!, ComponentCanonicalizer.Hash, PatternOptions.Default);
    }

    /// <summary>The same pattern held for no hub URL (see <see cref="WithoutBase"/>); its compiled components are shared.</summary>
    private UrlPattern(UrlPattern absolute)
    {
        Text = absolute.Text;
        BaseUrl = string.Empty;
        (_protocol, _username, _password, _hostname) = (absolute._protocol, absolute._username, absolute._password, absolute._hostname);
        (_port, _pathname, _search, _hash) = (absolute._port, absolute._pathname, absolute._search, absolute._hash);
    }

    /// <summary>The pattern as the client or token gave it.</summary>
    public string Text { get; }

    /// <summary>The URL relative patterns and relative topics resolve against (the hub URL).</summary>
    public string BaseUrl { get; }

    /// <summary><see cref="BaseUrl"/> parsed; topics are parsed against it (<see cref="UrlComponents.Parse"/>).</summary>
    public UrlRecord? BaseRecord { get; }

    /// <summary>Whether the pattern names no scheme, so the hub URL completed it (an absolute one depends on it only for relative topics).</summary>
    public bool IsRelative { get; }

    /// <summary>The hostname every matching URL has, when the pattern fixes it (<c>null</c>: several or any).</summary>
    public string? FixedHostname => _hostname.FixedText;

    /// <summary>Text every matching URL's pathname starts with (canonical, as <see cref="UrlComponents.Pathname"/> holds it).</summary>
    public string PathnamePrefix => _pathname.RequiredPrefix;

    /// <summary>
    /// Compiles <paramref name="pattern"/>; on failure <paramref name="error"/> says why in one line fit for a 400.
    /// <paramref name="baseUrl"/> (the hub URL) is the base of a relative pattern only (Mercure 1.0: "When evaluating a
    /// relative pattern or a relative topic"): given to an absolute one, the standard would put its directory before an
    /// opaque path, and <c>urn\:isbn\:*</c> would become <c>/.well-known/isbn:*</c> and match no <c>urn:</c> topic.
    /// Topics always resolve against it.
    /// </summary>
    public static bool TryParse(string pattern, string baseUrl, [NotNullWhen(true)] out UrlPattern? result, [NotNullWhen(false)] out string? error) =>
        TryCreate(pattern, null, baseUrl, out result, out error, baseForRelativeOnly: true);

    /// <summary>
    /// The URLPattern constructor: from a constructor string (<paramref name="pattern"/>, with an optional base URL) or from
    /// a URLPatternInit (<paramref name="init"/>, no base URL beside it).
    /// </summary>
    public static bool TryCreate(
        string? pattern,
        UrlPatternInit? init,
        string? baseUrl,
        [NotNullWhen(true)] out UrlPattern? result,
        [NotNullWhen(false)] out string? error,
        bool baseForRelativeOnly = false)
    {
        result = null;
        try
        {
            if (pattern is not null)
            {
                init = ConstructorStringParser.Parse(pattern);
                if (baseUrl is null && init.Protocol is null)
                {
                    throw new UrlPatternException("a relative URL pattern needs a base URL");
                }

                init.BaseUrl = baseForRelativeOnly && init.Protocol is not null ? null : baseUrl;
            }
            else if (init is null || baseUrl is not null)
            {
                throw new UrlPatternException("a URL pattern is a string or components, with a base URL only beside a string");
            }

            var processed = new UrlPatternInit
            {
                Protocol = "*", Username = "*", Password = "*", Hostname = "*", Port = "*", Pathname = "*", Search = "*", Hash = "*",
            };
            UrlPatternInit.Process(processed, init, pattern: true);
            if (SpecialSchemes.DefaultPort(processed.Protocol!)?.ToString(System.Globalization.CultureInfo.InvariantCulture) == processed.Port)
            {
                processed.Port = string.Empty;
            }

            var baseRecord = baseUrl is null ? null : UrlParser.Parse(baseUrl);
            result = new UrlPattern(pattern ?? string.Empty, baseUrl ?? string.Empty, baseRecord, pattern is not null && init.Protocol is null, processed);
            error = null;
            return true;
        }
        catch (UrlPatternException e)
        {
            error = "invalid URL pattern: " + e.Message;
            return false;
        }
    }

    /// <summary>
    /// This absolute pattern held for no hub URL (<see cref="BaseUrl"/> empty): it matches every topic that names its own
    /// scheme as before, and a relative topic only as the URL parser reads it alone (mostly not at one). What the
    /// <see cref="UrlPatternRegistry"/> gives a client whose hub URL it holds no place for, rather than refusing it.
    /// </summary>
    public UrlPattern WithoutBase() => IsRelative ? throw new InvalidOperationException("a relative URL pattern needs its base URL") : new(this);

    /// <summary>Whether <paramref name="topic"/> (resolved against <see cref="BaseUrl"/>) matches; a topic that does not parse matches nothing.</summary>
    public bool Matches(string topic) => UrlComponents.Parse(topic, BaseRecord) is { } components && Matches(components);

    /// <summary>Whether a topic already parsed against <see cref="BaseRecord"/> matches.</summary>
    public bool Matches(UrlComponents url) =>
        _protocol.Matches(url.Protocol)
        && _username.Matches(url.Username)
        && _password.Matches(url.Password)
        && _hostname.Matches(url.Hostname)
        && _port.Matches(url.Port)
        && _pathname.Matches(url.Pathname)
        && _search.Matches(url.Search)
        && _hash.Matches(url.Hash);
}
