namespace Herald.Topics.UrlPatterns;

/// <summary>The states of the URL parser from the authority to the host and port, and those of <c>file:</c> URLs.</summary>
internal sealed partial class UrlParser
{
    /// <summary>The Authority state; null to go on, else the parser's answer.</summary>
    private bool? Authority(char c, bool eof)
    {
        var authorityEnds = eof || c is '/' or '?' or '#' || (_url.IsSpecial && c == '\\');
        if (c != '@' && !authorityEnds)
        {
            _buffer.Append(c);
        }
        else if (c == '@')
        {
            if (_atSignSeen)
            {
                _buffer.Insert(0, "%40");
            }

            _atSignSeen = true;
            var credentials = _buffer.ToString();
            var colon = _passwordTokenSeen ? -1 : credentials.IndexOf(':', StringComparison.Ordinal);
            if (_passwordTokenSeen)
            {
                _url.Password += PercentEncoding.Encode(credentials, PercentEncoding.Set.Userinfo);
            }
            else if (colon < 0)
            {
                _url.Username += PercentEncoding.Encode(credentials, PercentEncoding.Set.Userinfo);
            }
            else
            {
                _passwordTokenSeen = true;
                _url.Username += PercentEncoding.Encode(credentials[..colon], PercentEncoding.Set.Userinfo);
                _url.Password += PercentEncoding.Encode(credentials[(colon + 1)..], PercentEncoding.Set.Userinfo);
            }

            _buffer.Clear();
        }
        else
        {
            if (_atSignSeen && _buffer.Length == 0)
            {
                return false;
            }

            _pointer -= _buffer.Length + 1;
            _buffer.Clear();
            _state = UrlParserState.Host;
        }

        return null;
    }

    /// <summary>The Host and Hostname states; null to go on, else the parser's answer.</summary>
    private bool? HostOrHostname(char c, bool eof)
    {
        if (_override is not null && _url.Scheme == "file")
        {
            _pointer--;
            _state = UrlParserState.FileHost;
        }
        else if ((c == ':' && !_insideBrackets) || eof || c is '/' or '?' or '#' || (_url.IsSpecial && c == '\\'))
        {
            var toPort = c == ':' && !eof;
            if ((toPort && _override == UrlParserState.Hostname)
                || (_buffer.Length == 0 && (toPort || _url.IsSpecial || (_override is not null && (_url.HasCredentials || _url.Port is not null)))))
            {
                return false;
            }

            var host = HostParser.Parse(_buffer.ToString(), !_url.IsSpecial);
            if (host is null)
            {
                return false;
            }

            _url.Host = host;
            _buffer.Clear();
            if (toPort)
            {
                _state = UrlParserState.Port;
            }
            else
            {
                _pointer--;
                _state = UrlParserState.PathStart;
                if (_override is not null)
                {
                    return true;
                }
            }
        }
        else
        {
            _insideBrackets = c == '[' || (c != ']' && _insideBrackets);
            _buffer.Append(c);
        }

        return null;
    }

    /// <summary>The Port state; null to go on, else the parser's answer.</summary>
    private bool? Port(char c, bool eof)
    {
        if (char.IsAsciiDigit(c))
        {
            _buffer.Append(c);
        }
        else if (eof || c is '/' or '?' or '#' || (_url.IsSpecial && c == '\\') || _override is not null)
        {
            if (_buffer.Length != 0)
            {
                var digits = _buffer.ToString().TrimStart('0');
                if (digits.Length > 5 || (digits.Length > 0 && int.Parse(digits, System.Globalization.CultureInfo.InvariantCulture) > 65535))
                {
                    return false;
                }

                var port = digits.Length == 0 ? 0 : int.Parse(digits, System.Globalization.CultureInfo.InvariantCulture);
                _url.Port = port == SpecialSchemes.DefaultPort(_url.Scheme) ? null : port;
                _buffer.Clear();
            }

            if (_override is not null)
            {
                return true;
            }

            _state = UrlParserState.PathStart;
            _pointer--;
        }
        else
        {
            return false;
        }

        return null;
    }

    /// <summary>The File state; null to go on, else the parser's answer.</summary>
    private bool? File(char c, bool eof)
    {
        _url.Scheme = "file";
        _url.Host = string.Empty;
        if (c == '/' || c == '\\')
        {
            _state = UrlParserState.FileSlash;
        }
        else if (_base is not null && _base.Scheme == "file")
        {
            _url.Host = _base.Host;
            _url.Path.AddRange(_base.Path);
            _url.Query = _base.Query;
            if (!StartQueryOrFragment(c) && !eof)
            {
                _url.Query = null;
                if (!StartsWithWindowsDriveLetter())
                {
                    ShortenPath();
                }
                else
                {
                    _url.Path.Clear();
                }

                _state = UrlParserState.Path;
                _pointer--;
            }
        }
        else
        {
            _state = UrlParserState.Path;
            _pointer--;
        }

        return null;
    }

    /// <summary>The FileSlash state; null to go on, else the parser's answer.</summary>
    private bool? FileSlash(char c, bool eof)
    {
        if (c == '/' || c == '\\')
        {
            _state = UrlParserState.FileHost;
        }
        else
        {
            if (_base is not null && _base.Scheme == "file")
            {
                _url.Host = _base.Host;
                if (!StartsWithWindowsDriveLetter() && _base.Path.Count > 0 && IsWindowsDriveLetter(_base.Path[0], normalizedOnly: true))
                {
                    _url.Path.Add(_base.Path[0]);
                }
            }

            _state = UrlParserState.Path;
            _pointer--;
        }

        return null;
    }

    /// <summary>The FileHost state; null to go on, else the parser's answer.</summary>
    private bool? FileHost(char c, bool eof)
    {
        if (eof || c is '/' or '\\' or '?' or '#')
        {
            _pointer--;
            var text = _buffer.ToString();
            if (_override is null && IsWindowsDriveLetter(text, normalizedOnly: false))
            {
                _state = UrlParserState.Path;
            }
            else if (text.Length == 0)
            {
                _url.Host = string.Empty;
                if (_override is not null)
                {
                    return true;
                }

                _state = UrlParserState.PathStart;
            }
            else
            {
                var host = HostParser.Parse(text, !_url.IsSpecial);
                if (host is null)
                {
                    return false;
                }

                _url.Host = host == "localhost" ? string.Empty : host;
                if (_override is not null)
                {
                    return true;
                }

                _buffer.Clear();
                _state = UrlParserState.PathStart;
            }
        }
        else
        {
            _buffer.Append(c);
        }

        return null;
    }
}
