namespace Herald.Topics.UrlPatterns;

/// <summary>
/// The URL Pattern constructor string parser (URL Pattern Standard, "Constructor string parsing"): splits a pattern such as
/// <c>https://{*.}?example.com/books/:id</c> into its component patterns, leaving each component's text as it is.
/// </summary>
internal sealed class ConstructorStringParser
{
    private enum State
    {
        Init,
        Protocol,
        Authority,
        Username,
        Password,
        Hostname,
        Port,
        Pathname,
        Search,
        Hash,
        Done,
    }

    private readonly string _input;
    private readonly List<PatternToken> _tokens;
    private readonly UrlPatternInit _result = new();
    private int _componentStart;
    private int _tokenIndex;
    private int _tokenIncrement = 1;
    private int _groupDepth;
    private int _ipv6BracketDepth;
    private bool _protocolMatchesSpecialScheme;
    private State _state = State.Init;

    private ConstructorStringParser(string input)
    {
        _input = input;
        _tokens = PatternTokenizer.Tokenize(input, lenient: true);
    }

    /// <summary>Parses <paramref name="input"/>; throws <see cref="UrlPatternException"/>.</summary>
    public static UrlPatternInit Parse(string input)
    {
        var parser = new ConstructorStringParser(input);
        parser.Run();
        return parser._result;
    }

    private void Run()
    {
        while (_tokenIndex < _tokens.Count)
        {
            _tokenIncrement = 1;
            if (_tokens[_tokenIndex].Type == PatternTokenType.End)
            {
                if (_state == State.Init)
                {
                    Rewind();
                    if (IsChar(_tokenIndex, "#"))
                    {
                        ChangeState(State.Hash, 1);
                    }
                    else if (IsSearchPrefix())
                    {
                        ChangeState(State.Search, 1);
                    }
                    else
                    {
                        ChangeState(State.Pathname, 0);
                    }

                    _tokenIndex += _tokenIncrement;
                    continue;
                }

                if (_state == State.Authority)
                {
                    RewindAndSetState(State.Hostname);
                    _tokenIndex += _tokenIncrement;
                    continue;
                }

                ChangeState(State.Done, 0);
                break;
            }

            if (_groupDepth > 0)
            {
                if (_tokens[_tokenIndex].Type == PatternTokenType.Close)
                {
                    _groupDepth--;
                }
                else
                {
                    _tokenIndex += _tokenIncrement;
                    continue;
                }
            }

            if (_tokens[_tokenIndex].Type == PatternTokenType.Open)
            {
                _groupDepth++;
                _tokenIndex += _tokenIncrement;
                continue;
            }

            Step();
            _tokenIndex += _tokenIncrement;
        }

        if (_result.Hostname is not null && _result.Port is null)
        {
            _result.Port = string.Empty;
        }
    }

    private void Step()
    {
        switch (_state)
        {
            case State.Init:
                if (IsChar(_tokenIndex, ":"))
                {
                    RewindAndSetState(State.Protocol);
                }

                break;
            case State.Protocol:
                if (IsChar(_tokenIndex, ":"))
                {
                    ComputeProtocolMatchesSpecialScheme();
                    var next = State.Pathname;
                    var skip = 1;
                    if (IsChar(_tokenIndex + 1, "/") && IsChar(_tokenIndex + 2, "/"))
                    {
                        next = State.Authority;
                        skip = 3;
                    }
                    else if (_protocolMatchesSpecialScheme)
                    {
                        next = State.Authority;
                    }

                    ChangeState(next, skip);
                }

                break;
            case State.Authority:
                if (IsChar(_tokenIndex, "@"))
                {
                    RewindAndSetState(State.Username);
                }
                else if (IsChar(_tokenIndex, "/") || IsSearchPrefix() || IsChar(_tokenIndex, "#"))
                {
                    RewindAndSetState(State.Hostname);
                }

                break;
            case State.Username:
                if (IsChar(_tokenIndex, ":"))
                {
                    ChangeState(State.Password, 1);
                }
                else if (IsChar(_tokenIndex, "@"))
                {
                    ChangeState(State.Hostname, 1);
                }

                break;
            case State.Password:
                if (IsChar(_tokenIndex, "@"))
                {
                    ChangeState(State.Hostname, 1);
                }

                break;
            case State.Hostname:
                if (IsChar(_tokenIndex, "["))
                {
                    _ipv6BracketDepth++;
                }
                else if (IsChar(_tokenIndex, "]"))
                {
                    _ipv6BracketDepth--;
                }
                else if (IsChar(_tokenIndex, ":") && _ipv6BracketDepth == 0)
                {
                    ChangeState(State.Port, 1);
                }
                else
                {
                    AfterAuthority(pathnameStarts: true);
                }

                break;
            case State.Port:
                AfterAuthority(pathnameStarts: true);
                break;
            case State.Pathname:
                AfterAuthority(pathnameStarts: false);
                break;
            case State.Search:
                if (IsChar(_tokenIndex, "#"))
                {
                    ChangeState(State.Hash, 1);
                }

                break;
        }
    }

    private void AfterAuthority(bool pathnameStarts)
    {
        if (pathnameStarts && IsChar(_tokenIndex, "/"))
        {
            ChangeState(State.Pathname, 0);
        }
        else if (IsSearchPrefix())
        {
            ChangeState(State.Search, 1);
        }
        else if (IsChar(_tokenIndex, "#"))
        {
            ChangeState(State.Hash, 1);
        }
    }

    private void ChangeState(State next, int skip)
    {
        if (_state is not (State.Init or State.Authority or State.Done))
        {
            var component = MakeComponentString();
            switch (_state)
            {
                case State.Protocol: _result.Protocol = component; break;
                case State.Username: _result.Username = component; break;
                case State.Password: _result.Password = component; break;
                case State.Hostname: _result.Hostname = component; break;
                case State.Port: _result.Port = component; break;
                case State.Pathname: _result.Pathname = component; break;
                case State.Search: _result.Search = component; break;
                case State.Hash: _result.Hash = component; break;
            }
        }

        if (_state != State.Init && next != State.Done)
        {
            if (_state is State.Protocol or State.Authority or State.Username or State.Password
                && next is State.Port or State.Pathname or State.Search or State.Hash)
            {
                _result.Hostname ??= string.Empty;
            }

            if (_state is State.Protocol or State.Authority or State.Username or State.Password or State.Hostname or State.Port
                && next is State.Search or State.Hash)
            {
                _result.Pathname ??= _protocolMatchesSpecialScheme ? "/" : string.Empty;
            }

            if (_state is State.Protocol or State.Authority or State.Username or State.Password or State.Hostname or State.Port or State.Pathname
                && next is State.Hash)
            {
                _result.Search ??= string.Empty;
            }
        }

        _state = next;
        _tokenIndex += skip;
        _componentStart = _tokenIndex;
        _tokenIncrement = 0;
    }

    private void Rewind()
    {
        _tokenIndex = _componentStart;
        _tokenIncrement = 0;
    }

    private void RewindAndSetState(State state)
    {
        Rewind();
        _state = state;
    }

    private PatternToken SafeToken(int index) => index < _tokens.Count ? _tokens[index] : _tokens[^1];

    /// <summary>Whether the token is the (not special) pattern character <paramref name="value"/>.</summary>
    private bool IsChar(int index, string value)
    {
        var token = SafeToken(index);
        return token.Value == value && token.Type is PatternTokenType.Char or PatternTokenType.EscapedChar or PatternTokenType.InvalidChar;
    }

    /// <summary>A <c>?</c> starts the search unless it is the modifier of what precedes it.</summary>
    private bool IsSearchPrefix()
    {
        if (IsChar(_tokenIndex, "?"))
        {
            return true;
        }

        if (_tokens[_tokenIndex].Value != "?")
        {
            return false;
        }

        if (_tokenIndex == 0)
        {
            return true;
        }

        return SafeToken(_tokenIndex - 1).Type is not (PatternTokenType.Name or PatternTokenType.Regexp or PatternTokenType.Close or PatternTokenType.Asterisk);
    }

    private string MakeComponentString()
    {
        var end = _tokens[_tokenIndex].Index;
        var start = SafeToken(_componentStart).Index;
        return _input[start..end];
    }

    private void ComputeProtocolMatchesSpecialScheme()
    {
        var protocol = PatternComponent.Compile(MakeComponentString(), ComponentCanonicalizer.Protocol, PatternOptions.Default);
        _protocolMatchesSpecialScheme = protocol.MatchesSpecialScheme();
    }
}
