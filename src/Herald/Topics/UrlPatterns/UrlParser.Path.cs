namespace Herald.Topics.UrlPatterns;

/// <summary>The states of the URL parser from the path on: path segments, opaque paths, query and fragment.</summary>
internal sealed partial class UrlParser
{
    /// <summary>The PathStart state; null to go on, else the parser's answer.</summary>
    private bool? PathStart(char c, bool eof)
    {
        if (_url.IsSpecial || (!eof && !(_override is null && StartQueryOrFragment(c))))
        {
            _state = UrlParserState.Path;
            if (c != '/' && !(_url.IsSpecial && c == '\\'))
            {
                _pointer--;
            }
        }
        else if (eof && _override is not null && _url.Host is null)
        {
            _url.Path.Add(string.Empty);
        }

        return null;
    }

    /// <summary>The Path state; null to go on, else the parser's answer.</summary>
    private bool? Path(char c, bool eof)
    {
        var slash = c == '/' || (_url.IsSpecial && c == '\\');
        if (eof || slash || (_override is null && c is '?' or '#'))
        {
            var segment = PercentEncoding.Encode(_buffer.ToString(), PercentEncoding.Set.Path);
            if (IsDoubleDot(segment))
            {
                ShortenPath();
                if (!slash)
                {
                    _url.Path.Add(string.Empty);
                }
            }
            else if (IsSingleDot(segment))
            {
                if (!slash)
                {
                    _url.Path.Add(string.Empty);
                }
            }
            else
            {
                if (_url.Scheme == "file" && _url.Path.Count == 0 && IsWindowsDriveLetter(segment, normalizedOnly: false))
                {
                    segment = segment[0] + ":" + segment[2..];
                }

                _url.Path.Add(segment);
            }

            _buffer.Clear();
            _ = StartQueryOrFragment(c);
        }
        else
        {
            _buffer.Append(c);
        }

        return null;
    }

    /// <summary>The OpaquePath state; null to go on, else the parser's answer.</summary>
    private bool? OpaquePath(char c, bool eof)
    {
        if (Accumulate(c, eof || c is '?' or '#', PercentEncoding.Set.C0Control) is { } text)
        {
            _url.OpaquePath += text;
            _ = StartQueryOrFragment(c);
        }

        return null;
    }

    /// <summary>The Query state; null to go on, else the parser's answer.</summary>
    private bool? Query(char c, bool eof)
    {
        var set = _url.IsSpecial ? PercentEncoding.Set.SpecialQuery : PercentEncoding.Set.Query;
        if (Accumulate(c, (_override is null && c == '#') || eof, set) is { } text)
        {
            _url.Query += text;
            _ = StartQueryOrFragment(c);
        }

        return null;
    }

    /// <summary>The Fragment state; null to go on, else the parser's answer.</summary>
    private bool? Fragment(char c, bool eof)
    {
        if (Accumulate(c, eof, PercentEncoding.Set.Fragment) is { } text)
        {
            _url.Fragment += text;
        }

        return null;
    }

    /// <summary>Appends <paramref name="c"/> to the buffer, or, where the part <paramref name="ends"/>, returns the buffer percent-encoded and empties it.</summary>
    private string? Accumulate(char c, bool ends, PercentEncoding.Set set)
    {
        if (!ends)
        {
            _buffer.Append(c);
            return null;
        }

        var text = PercentEncoding.Encode(_buffer.ToString(), set);
        _buffer.Clear();
        return text;
    }

    private void ShortenPath()
    {
        if (_url.Scheme == "file" && _url.Path.Count == 1 && IsWindowsDriveLetter(_url.Path[0], normalizedOnly: true))
        {
            return;
        }

        if (_url.Path.Count > 0)
        {
            _url.Path.RemoveAt(_url.Path.Count - 1);
        }
    }

    private static bool IsWindowsDriveLetter(string text, bool normalizedOnly) =>
        text.Length == 2 && char.IsAsciiLetter(text[0]) && (text[1] == ':' || (!normalizedOnly && text[1] == '|'));

    private bool StartsWithWindowsDriveLetter()
    {
        var rest = _input.AsSpan(_pointer);
        return rest.Length >= 2 && char.IsAsciiLetter(rest[0]) && rest[1] is ':' or '|'
            && (rest.Length == 2 || rest[2] is '/' or '\\' or '?' or '#');
    }

    private static bool IsSingleDot(string segment) => segment == "." || segment.Equals("%2e", StringComparison.OrdinalIgnoreCase);

    private static bool IsDoubleDot(string segment) => segment.Length is 2 or 4 or 6
        && segment.Replace("%2e", ".", StringComparison.OrdinalIgnoreCase) == "..";
}
