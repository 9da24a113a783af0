namespace Herald.Topics.UrlPatterns;

/// <summary>
/// A URLPatternInit dictionary: the components of a pattern (or of a URL to match), each absent when null, and the base
/// URL the absent ones are taken from. <see cref="Process"/> is the standard's "process a URLPatternInit".
/// </summary>
internal sealed class UrlPatternInit
{
    // Plain fields: a dictionary the parsers fill in, with nothing to check or compute on access.
    public string? Protocol;
    public string? Username;
    public string? Password;
    public string? Hostname;
    public string? Port;
    public string? Pathname;
    public string? Search;
    public string? Hash;
    public string? BaseUrl;

    /// <summary>
    /// Fills <paramref name="result"/> from <paramref name="init"/> and its base URL. For a pattern, values are kept as
    /// pattern text (base URL parts escaped); for a URL to match, they are canonicalized. Throws <see cref="UrlPatternException"/>.
    /// </summary>
    public static void Process(UrlPatternInit result, UrlPatternInit init, bool pattern)
    {
        UrlRecord? baseUrl = null;
        if (init.BaseUrl is not null)
        {
            baseUrl = UrlParser.Parse(init.BaseUrl) ?? throw new UrlPatternException("the base URL is not a valid URL");
            string Inherit(string value) => pattern ? EscapePatternString(value) : value;
            if (init.Protocol is null)
            {
                result.Protocol = Inherit(baseUrl.Scheme);
            }

            // A pattern does not take credentials from its base URL: they stay wildcards.
            if (!pattern && init.Protocol is null && init.Hostname is null && init.Port is null && init.Username is null)
            {
                result.Username = baseUrl.Username;
            }

            if (!pattern && init.Protocol is null && init.Hostname is null && init.Port is null && init.Username is null && init.Password is null)
            {
                result.Password = baseUrl.Password;
            }

            if (init.Protocol is null && init.Hostname is null)
            {
                result.Hostname = Inherit(baseUrl.Host ?? string.Empty);
            }

            if (init.Protocol is null && init.Hostname is null && init.Port is null)
            {
                result.Port = Inherit(baseUrl.Port?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? string.Empty);
            }

            if (init.Protocol is null && init.Hostname is null && init.Port is null && init.Pathname is null)
            {
                result.Pathname = Inherit(baseUrl.SerializePath());
            }

            if (init.Protocol is null && init.Hostname is null && init.Port is null && init.Pathname is null && init.Search is null)
            {
                result.Search = Inherit(baseUrl.Query ?? string.Empty);
            }

            if (init.Protocol is null && init.Hostname is null && init.Port is null && init.Pathname is null && init.Search is null && init.Hash is null)
            {
                result.Hash = Inherit(baseUrl.Fragment ?? string.Empty);
            }
        }

        if (init.Protocol is not null)
        {
            var protocol = init.Protocol.EndsWith(':') ? init.Protocol[..^1] : init.Protocol;
            result.Protocol = pattern ? protocol : ComponentCanonicalizer.Protocol(protocol);
        }

        if (init.Username is not null)
        {
            result.Username = pattern ? init.Username : ComponentCanonicalizer.Username(init.Username);
        }

        if (init.Password is not null)
        {
            result.Password = pattern ? init.Password : ComponentCanonicalizer.Password(init.Password);
        }

        if (init.Hostname is not null)
        {
            result.Hostname = pattern ? init.Hostname : CanonicalizeHostname(init.Hostname);
        }

        if (init.Port is not null)
        {
            var port = init.Port;
            if (SpecialSchemes.DefaultPort(result.Protocol ?? string.Empty)?.ToString(System.Globalization.CultureInfo.InvariantCulture) == port)
            {
                port = string.Empty;
            }

            result.Port = pattern ? port : ComponentCanonicalizer.Port(port);
        }

        if (init.Pathname is not null)
        {
            var pathname = init.Pathname;
            if (baseUrl is not null && baseUrl.OpaquePath is null && !IsAbsolutePathname(pathname, pattern))
            {
                var basePath = baseUrl.SerializePath();
                var slash = basePath.LastIndexOf('/');
                if (slash >= 0)
                {
                    var directory = basePath[..(slash + 1)];
                    pathname = (pattern ? EscapePatternString(directory) : directory) + pathname;
                }
            }

            result.Pathname = pattern ? pathname : ComponentCanonicalizer.PathnameOfUrl(pathname, result.Protocol ?? string.Empty);
        }

        if (init.Search is not null)
        {
            var search = init.Search.StartsWith('?') ? init.Search[1..] : init.Search;
            result.Search = pattern ? search : ComponentCanonicalizer.Search(search);
        }

        if (init.Hash is not null)
        {
            var hash = init.Hash.StartsWith('#') ? init.Hash[1..] : init.Hash;
            result.Hash = pattern ? hash : ComponentCanonicalizer.Hash(hash);
        }
    }

    /// <summary>A URL's hostname as it is matched: an IPv6 literal lowercased, any other host canonicalized as a special host.</summary>
    public static string CanonicalizeHostname(string value) =>
        value.Length == 0 ? value : ComponentCanonicalizer.TreatAsIPv6(value) ? ComponentCanonicalizer.IPv6Hostname(value) : ComponentCanonicalizer.Hostname(value);

    /// <summary>The standard's "escape a pattern string": a backslash before each of <c>+*?:{}()\</c>.</summary>
    public static string EscapePatternString(string value)
    {
        if (value.AsSpan().IndexOfAny("+*?:{}()\\") < 0)
        {
            return value;
        }

        var builder = new System.Text.StringBuilder(value.Length + 8);
        foreach (var c in value)
        {
            if (c is '+' or '*' or '?' or ':' or '{' or '}' or '(' or ')' or '\\')
            {
                builder.Append('\\');
            }

            builder.Append(c);
        }

        return builder.ToString();
    }

    private static bool IsAbsolutePathname(string value, bool pattern)
    {
        if (value.Length == 0)
        {
            return false;
        }

        if (value[0] == '/')
        {
            return true;
        }

        return pattern && value.Length >= 2 && value[0] is '\\' or '{' && value[1] == '/';
    }
}
