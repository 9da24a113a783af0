using System.Globalization;

namespace Herald.Topics.UrlPatterns;

/// <summary>The kinds of pattern part.</summary>
internal enum PartType
{
    FixedText,
    Regexp,
    SegmentWildcard,
    FullWildcard,
}

/// <summary>A part's modifier: none, <c>?</c>, <c>*</c> or <c>+</c>.</summary>
internal enum PartModifier
{
    None,
    Optional,
    ZeroOrMore,
    OneOrMore,
}

/// <summary>A pattern part; <see cref="Value"/> is the fixed text, or the regexp of a <see cref="PartType.Regexp"/> part.</summary>
internal sealed record Part(PartType Type, string Value, PartModifier Modifier, string Name = "", string Prefix = "", string Suffix = "");

/// <summary>The options a component is compiled with: its delimiter and its prefix code point ("" when none).</summary>
internal sealed record PatternOptions(string Delimiter, string Prefix)
{
    public static readonly PatternOptions Default = new(string.Empty, string.Empty);
    public static readonly PatternOptions Hostname = new(".", string.Empty);
    public static readonly PatternOptions Pathname = new("/", "/");

    /// <summary>The regexp of <c>:name</c> with no regexp of its own, as the standard spells it (JavaScript syntax).</summary>
    public string SegmentWildcard => "[^" + RegexText.Escape(Delimiter) + "]+?";
}

/// <summary>The URL Pattern pattern parser (URL Pattern Standard, "Parsing pattern strings") into a part list.</summary>
internal sealed class PatternParser
{
    /// <summary>The regexp of <c>*</c> (JavaScript syntax).</summary>
    public const string FullWildcard = ".*";

    private readonly List<PatternToken> _tokens;
    private readonly Func<string, string> _encode;
    private readonly string _segmentWildcard;
    private readonly string _prefixCodePoint;
    private readonly List<Part> _parts = [];
    private string _pendingFixedValue = string.Empty;
    private int _index;
    private int _nextNumericName;

    private PatternParser(string input, PatternOptions options, Func<string, string> encode)
    {
        _tokens = PatternTokenizer.Tokenize(input, lenient: false);
        _encode = encode;
        _segmentWildcard = options.SegmentWildcard;
        _prefixCodePoint = options.Prefix;
    }

    /// <summary>Parses <paramref name="input"/>; <paramref name="encode"/> canonicalizes fixed text and may throw <see cref="UrlPatternException"/>.</summary>
    public static List<Part> Parse(string input, PatternOptions options, Func<string, string> encode)
    {
        var parser = new PatternParser(input, options, encode);
        parser.Run();
        return parser._parts;
    }

    private void Run()
    {
        while (_index < _tokens.Count)
        {
            var charToken = TryConsume(PatternTokenType.Char);
            var nameToken = TryConsume(PatternTokenType.Name);
            var regexpOrWildcard = TryConsumeRegexpOrWildcard(nameToken);
            if (nameToken is not null || regexpOrWildcard is not null)
            {
                var prefix = charToken?.Value ?? string.Empty;
                if (prefix.Length > 0 && prefix != _prefixCodePoint)
                {
                    _pendingFixedValue += prefix;
                    prefix = string.Empty;
                }

                MaybeAddPartFromPendingFixedValue();
                var modifier = TryConsumeModifier();
                AddPart(prefix, nameToken, regexpOrWildcard, string.Empty, modifier);
                continue;
            }

            var fixedToken = charToken ?? TryConsume(PatternTokenType.EscapedChar);
            if (fixedToken is not null)
            {
                _pendingFixedValue += fixedToken.Value.Value;
                continue;
            }

            if (TryConsume(PatternTokenType.Open) is not null)
            {
                var prefix = ConsumeText();
                nameToken = TryConsume(PatternTokenType.Name);
                regexpOrWildcard = TryConsumeRegexpOrWildcard(nameToken);
                var suffix = ConsumeText();
                ConsumeRequired(PatternTokenType.Close);
                var modifier = TryConsumeModifier();
                AddPart(prefix, nameToken, regexpOrWildcard, suffix, modifier);
                continue;
            }

            MaybeAddPartFromPendingFixedValue();
            ConsumeRequired(PatternTokenType.End);
        }
    }

    private PatternToken? TryConsume(PatternTokenType type)
    {
        if (_index < _tokens.Count && _tokens[_index].Type == type)
        {
            return _tokens[_index++];
        }

        return null;
    }

    private PatternToken? TryConsumeModifier() => TryConsume(PatternTokenType.OtherModifier) ?? TryConsume(PatternTokenType.Asterisk);

    private PatternToken? TryConsumeRegexpOrWildcard(PatternToken? nameToken)
    {
        var token = TryConsume(PatternTokenType.Regexp);
        return nameToken is null && token is null ? TryConsume(PatternTokenType.Asterisk) : token;
    }

    private void ConsumeRequired(PatternTokenType type)
    {
        if (TryConsume(type) is null)
        {
            throw new UrlPatternException(type == PatternTokenType.Close ? "a '{' group is not closed where it should be" : "a pattern has an unexpected '" + _tokens[_index].Value + "'");
        }
    }

    private string ConsumeText()
    {
        var result = string.Empty;
        while ((TryConsume(PatternTokenType.Char) ?? TryConsume(PatternTokenType.EscapedChar)) is { } token)
        {
            result += token.Value;
        }

        return result;
    }

    private void MaybeAddPartFromPendingFixedValue()
    {
        if (_pendingFixedValue.Length == 0)
        {
            return;
        }

        var encoded = _encode(_pendingFixedValue);
        _pendingFixedValue = string.Empty;
        _parts.Add(new Part(PartType.FixedText, encoded, PartModifier.None));
    }

    private void AddPart(string prefix, PatternToken? nameToken, PatternToken? regexpOrWildcard, string suffix, PatternToken? modifierToken)
    {
        var modifier = modifierToken?.Value switch
        {
            "?" => PartModifier.Optional,
            "*" => PartModifier.ZeroOrMore,
            "+" => PartModifier.OneOrMore,
            _ => PartModifier.None,
        };
        if (nameToken is null && regexpOrWildcard is null && modifier == PartModifier.None)
        {
            _pendingFixedValue += prefix;
            return;
        }

        MaybeAddPartFromPendingFixedValue();
        if (nameToken is null && regexpOrWildcard is null)
        {
            if (prefix.Length > 0)
            {
                _parts.Add(new Part(PartType.FixedText, _encode(prefix), modifier));
            }

            return;
        }

        var regexp = regexpOrWildcard switch
        {
            null => _segmentWildcard,
            { Type: PatternTokenType.Asterisk } => FullWildcard,
            { } token => token.Value,
        };
        var type = PartType.Regexp;
        if (regexp == _segmentWildcard)
        {
            type = PartType.SegmentWildcard;
            regexp = string.Empty;
        }
        else if (regexp == FullWildcard)
        {
            type = PartType.FullWildcard;
            regexp = string.Empty;
        }

        var name = nameToken?.Value ?? (_nextNumericName++).ToString(CultureInfo.InvariantCulture);
        if (_parts.Exists(part => part.Name == name))
        {
            throw new UrlPatternException("a pattern names two groups alike");
        }

        _parts.Add(new Part(type, regexp, modifier, name, _encode(prefix), _encode(suffix)));
    }
}
