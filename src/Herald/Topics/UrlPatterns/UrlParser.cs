using System.Text;

namespace Herald.Topics.UrlPatterns;

/// <summary>
/// The WHATWG basic URL parser (URL Standard, "URL parsing"), state overrides included, for topics, hub URLs and the
/// URL Pattern canonicalization that runs pattern text through the parser.
/// Hand-written rather than AngleSharp's <c>Url</c>: that one predates state overrides for paths, queries and fragments
/// as URL Pattern uses them, and AngleSharp brings a whole HTML engine for ~500 lines; <see cref="Uri"/> is RFC 3986,
/// which resolves, escapes and canonicalizes hosts differently (what a browser's <c>URLPattern</c> sees is WHATWG).
/// Works on UTF-16 code units: every delimiter is ASCII, and non-ASCII is percent-encoded as whole code points.
/// </summary>
internal sealed partial class UrlParser
{
    private const char Eof = '\uFFFF';
    internal static readonly char[] C0ControlOrSpace = Enumerable.Range(0, 0x21).Select(c => (char)c).ToArray();

    private readonly string _input;
    private readonly UrlRecord? _base;
    private readonly UrlRecord _url;
    private readonly UrlParserState? _override;
    private readonly StringBuilder _buffer = new();
    private UrlParserState _state;
    private int _pointer;
    private bool _atSignSeen;
    private bool _insideBrackets;
    private bool _passwordTokenSeen;

    private UrlParser(string input, UrlRecord? baseUrl, UrlRecord url, UrlParserState? stateOverride)
    {
        // Tabs and newlines are removed wherever they are (URL Standard, basic URL parser step 3).
        _input = input.AsSpan().IndexOfAny('\t', '\n', '\r') < 0
            ? input
            : input.Replace("\t", string.Empty, StringComparison.Ordinal).Replace("\n", string.Empty, StringComparison.Ordinal).Replace("\r", string.Empty, StringComparison.Ordinal);
        _base = baseUrl;
        _url = url;
        _override = stateOverride;
        _state = stateOverride ?? UrlParserState.SchemeStart;
    }

    /// <summary>Parses <paramref name="input"/> against <paramref name="baseUrl"/>; null when it is not a URL.</summary>
    public static UrlRecord? Parse(string input, UrlRecord? baseUrl = null)
    {
        var url = new UrlRecord();
        return new UrlParser(input.Trim(C0ControlOrSpace), baseUrl, url, null).Run() ? url : null;
    }

    /// <summary>Runs the parser on <paramref name="url"/> starting in <paramref name="stateOverride"/> (the URL setters).</summary>
    public static bool ParseInto(string input, UrlRecord url, UrlParserState stateOverride) => new UrlParser(input, null, url, stateOverride).Run();

    private bool Run()
    {
        for (_pointer = 0; _pointer <= _input.Length; _pointer++)
        {
            var eof = _pointer >= _input.Length;
            var c = eof ? Eof : _input[_pointer];
            var answer = _state switch
            {
                UrlParserState.SchemeStart => SchemeStart(c, eof),
                UrlParserState.Scheme => Scheme(c, eof),
                UrlParserState.NoScheme => NoScheme(c, eof),
                UrlParserState.SpecialRelativeOrAuthority => SpecialRelativeOrAuthority(c, eof),
                UrlParserState.PathOrAuthority => PathOrAuthority(c, eof),
                UrlParserState.Relative => Relative(c, eof),
                UrlParserState.RelativeSlash => RelativeSlash(c, eof),
                UrlParserState.SpecialAuthoritySlashes => SpecialAuthoritySlashes(c, eof),
                UrlParserState.SpecialAuthorityIgnoreSlashes => SpecialAuthorityIgnoreSlashes(c, eof),
                UrlParserState.Authority => Authority(c, eof),
                UrlParserState.Host => HostOrHostname(c, eof),
                UrlParserState.Hostname => HostOrHostname(c, eof),
                UrlParserState.Port => Port(c, eof),
                UrlParserState.File => File(c, eof),
                UrlParserState.FileSlash => FileSlash(c, eof),
                UrlParserState.FileHost => FileHost(c, eof),
                UrlParserState.PathStart => PathStart(c, eof),
                UrlParserState.Path => Path(c, eof),
                UrlParserState.OpaquePath => OpaquePath(c, eof),
                UrlParserState.Query => Query(c, eof),
                UrlParserState.Fragment => Fragment(c, eof),
                _ => false,
            };
            if (answer is not null)
            {
                return answer.Value;
            }
        }

        return true;
    }

    private bool RemainingStartsWith(char next) => _pointer + 1 < _input.Length && _input[_pointer + 1] == next;

    /// <summary>A <c>?</c> starts the query, a <c>#</c> the fragment; whether <paramref name="c"/> was one of them.</summary>
    private bool StartQueryOrFragment(char c)
    {
        if (c == '?')
        {
            _url.Query = string.Empty;
            _state = UrlParserState.Query;
            return true;
        }

        if (c == '#')
        {
            _url.Fragment = string.Empty;
            _state = UrlParserState.Fragment;
            return true;
        }

        return false;
    }

    private void CopyAuthority()
    {
        _url.Username = _base!.Username;
        _url.Password = _base.Password;
        _url.Host = _base.Host;
        _url.Port = _base.Port;
    }

    /// <summary>The SchemeStart state; null to go on, else the parser's answer.</summary>
    private bool? SchemeStart(char c, bool eof)
    {
        if (char.IsAsciiLetter(c))
        {
            _buffer.Append(char.ToLowerInvariant(c));
            _state = UrlParserState.Scheme;
        }
        else if (_override is null)
        {
            _state = UrlParserState.NoScheme;
            _pointer--;
        }
        else
        {
            return false;
        }

        return null;
    }

    /// <summary>The Scheme state; null to go on, else the parser's answer.</summary>
    private bool? Scheme(char c, bool eof)
    {
        if (char.IsAsciiLetterOrDigit(c) || c is '+' or '-' or '.')
        {
            _buffer.Append(char.ToLowerInvariant(c));
        }
        else if (c == ':')
        {
            var scheme = _buffer.ToString();
            if (_override is not null)
            {
                if (_url.IsSpecial != SpecialSchemes.IsSpecial(scheme)
                    || ((_url.HasCredentials || _url.Port is not null) && scheme == "file")
                    || (_url.Scheme == "file" && _url.Host == string.Empty))
                {
                    return true;
                }
            }

            _url.Scheme = scheme;
            if (_override is not null)
            {
                if (_url.Port == SpecialSchemes.DefaultPort(scheme))
                {
                    _url.Port = null;
                }

                return true;
            }

            _buffer.Clear();
            if (scheme == "file")
            {
                _state = UrlParserState.File;
            }
            else if (_url.IsSpecial && _base is not null && _base.Scheme == scheme)
            {
                _state = UrlParserState.SpecialRelativeOrAuthority;
            }
            else if (_url.IsSpecial)
            {
                _state = UrlParserState.SpecialAuthoritySlashes;
            }
            else if (RemainingStartsWith('/'))
            {
                _state = UrlParserState.PathOrAuthority;
                _pointer++;
            }
            else
            {
                _url.OpaquePath = string.Empty;
                _state = UrlParserState.OpaquePath;
            }
        }
        else if (_override is null)
        {
            _buffer.Clear();
            _state = UrlParserState.NoScheme;
            _pointer = -1;
        }
        else
        {
            return false;
        }

        return null;
    }

    /// <summary>The NoScheme state; null to go on, else the parser's answer.</summary>
    private bool? NoScheme(char c, bool eof)
    {
        if (_base is null || (_base.OpaquePath is not null && c != '#'))
        {
            return false;
        }

        if (_base.OpaquePath is not null)
        {
            _url.Scheme = _base.Scheme;
            _url.OpaquePath = _base.OpaquePath;
            _url.Query = _base.Query;
            _url.Fragment = string.Empty;
            _state = UrlParserState.Fragment;
        }
        else
        {
            _state = _base.Scheme != "file" ? UrlParserState.Relative : UrlParserState.File;
            _pointer--;
        }

        return null;
    }

    /// <summary>The SpecialRelativeOrAuthority state; null to go on, else the parser's answer.</summary>
    private bool? SpecialRelativeOrAuthority(char c, bool eof)
    {
        if (c == '/' && RemainingStartsWith('/'))
        {
            _state = UrlParserState.SpecialAuthorityIgnoreSlashes;
            _pointer++;
        }
        else
        {
            _state = UrlParserState.Relative;
            _pointer--;
        }

        return null;
    }

    /// <summary>The PathOrAuthority state; null to go on, else the parser's answer.</summary>
    private bool? PathOrAuthority(char c, bool eof)
    {
        if (c == '/')
        {
            _state = UrlParserState.Authority;
        }
        else
        {
            _state = UrlParserState.Path;
            _pointer--;
        }

        return null;
    }

    /// <summary>The Relative state; null to go on, else the parser's answer.</summary>
    private bool? Relative(char c, bool eof)
    {
        _url.Scheme = _base!.Scheme;
        if (c == '/' || (_url.IsSpecial && c == '\\'))
        {
            _state = UrlParserState.RelativeSlash;
        }
        else
        {
            CopyAuthority();
            _url.Path.AddRange(_base.Path);
            _url.Query = _base.Query;
            if (!StartQueryOrFragment(c) && !eof)
            {
                _url.Query = null;
                ShortenPath();
                _state = UrlParserState.Path;
                _pointer--;
            }
        }

        return null;
    }

    /// <summary>The RelativeSlash state; null to go on, else the parser's answer.</summary>
    private bool? RelativeSlash(char c, bool eof)
    {
        if (_url.IsSpecial && (c == '/' || c == '\\'))
        {
            _state = UrlParserState.SpecialAuthorityIgnoreSlashes;
        }
        else if (c == '/')
        {
            _state = UrlParserState.Authority;
        }
        else
        {
            CopyAuthority();
            _state = UrlParserState.Path;
            _pointer--;
        }

        return null;
    }

    /// <summary>The SpecialAuthoritySlashes state; null to go on, else the parser's answer.</summary>
    private bool? SpecialAuthoritySlashes(char c, bool eof)
    {
        _state = UrlParserState.SpecialAuthorityIgnoreSlashes;
        if (c == '/' && RemainingStartsWith('/'))
        {
            _pointer++;
        }
        else
        {
            _pointer--;
        }

        return null;
    }

    /// <summary>The SpecialAuthorityIgnoreSlashes state; null to go on, else the parser's answer.</summary>
    private bool? SpecialAuthorityIgnoreSlashes(char c, bool eof)
    {
        if (c != '/' && c != '\\')
        {
            _state = UrlParserState.Authority;
            _pointer--;
        }

        return null;
    }
}
