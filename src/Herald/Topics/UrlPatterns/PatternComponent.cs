using System.Text;
using System.Text.RegularExpressions;

namespace Herald.Topics.UrlPatterns;

/// <summary>
/// One compiled component of a URL pattern (URL Pattern Standard, "compile a component" and "generate a regular expression
/// and name list"). A component that is <c>*</c> alone matches without running anything, one of fixed text alone is a
/// string comparison, and every other one is a .NET <see cref="Regex"/> with <see cref="RegexOptions.NonBacktracking"/>:
/// matching is linear in the component's length whatever the pattern (Mercure 1.0, "URL-Pattern Denial of Service").
/// </summary>
internal sealed class PatternComponent
{
    private static readonly PatternComponent Any = new(null, null);

    private readonly Regex? _regex;
    private readonly string? _exact;
    private readonly string _literalPrefix;

    private PatternComponent(Regex? regex, string? exact, string literalPrefix = "")
    {
        _regex = regex;
        _exact = exact;
        _literalPrefix = literalPrefix;
    }

    /// <summary>Compiles <paramref name="pattern"/>; throws <see cref="UrlPatternException"/> with a one-line reason.</summary>
    public static PatternComponent Compile(string pattern, Func<string, string> encode, PatternOptions options)
    {
        var parts = PatternParser.Parse(pattern, options, encode);
        if (parts.Count == 1 && parts[0] is { Type: PartType.FullWildcard, Modifier: PartModifier.None, Prefix: "", Suffix: "" })
        {
            return Any;
        }

        if (parts.TrueForAll(part => part.Type == PartType.FixedText && part.Modifier == PartModifier.None))
        {
            return new PatternComponent(null, string.Concat(parts.Select(part => part.Value)));
        }

        var expression = GenerateRegex(parts, options);
        try
        {
            // CultureInvariant: no culture's rules apply; no IgnoreCase ever (Mercure 1.0 forbids ignoreCase).
            return new PatternComponent(new Regex(expression, RegexOptions.NonBacktracking | RegexOptions.CultureInvariant), null, LiteralPrefix(parts));
        }
        catch (NotSupportedException)
        {
            throw new UrlPatternException("a regexp group needs backtracking or is too large, which linear-time matching cannot support");
        }
        catch (ArgumentException)
        {
            throw new UrlPatternException("a regexp group is not a valid regular expression");
        }
    }

    /// <summary>The whole value this component matches when it is fixed text alone; <c>null</c> when it matches more.</summary>
    public string? FixedText => _regex is null ? _exact : null;

    /// <summary>
    /// Text every value this component matches starts with (empty when none): the fixed text itself, or the leading
    /// fixed text <see cref="Matches"/> compares before its regex runs, so an index filing by it rules out only what
    /// <see cref="Matches"/> would refuse anyway.
    /// </summary>
    public string RequiredPrefix => _regex is not null ? _literalPrefix : _exact ?? string.Empty;

    /// <summary>Whether the whole of <paramref name="value"/> matches.</summary>
    /// <remarks>
    /// The fixed text a pattern starts with is compared before the regex runs: with 1,000 distinct patterns such as
    /// <c>https://example.com/sN/books/:id</c> on one hub, a publish ran 1,000 regexes (0.55 ms under the dispatch
    /// lock, UrlPatternDispatchBenchmarks); nearly all now stop at the comparison.
    /// </remarks>
    public bool Matches(string value)
    {
        if (_regex is not null)
        {
            return value.StartsWith(_literalPrefix, StringComparison.Ordinal) && _regex.IsMatch(value);
        }

        return _exact is null || string.Equals(_exact, value, StringComparison.Ordinal);
    }

    /// <summary>The fixed text every match starts with: the leading fixed-text parts without a modifier.</summary>
    private static string LiteralPrefix(List<Part> parts)
    {
        var prefix = new StringBuilder();
        foreach (var part in parts)
        {
            if (part.Type != PartType.FixedText || part.Modifier != PartModifier.None)
            {
                if (part.Modifier is PartModifier.None or PartModifier.OneOrMore)
                {
                    prefix.Append(part.Prefix);
                }

                break;
            }

            prefix.Append(part.Value);
        }

        return prefix.ToString();
    }

    /// <summary>Whether this (protocol) component matches one of the special schemes.</summary>
    public bool MatchesSpecialScheme()
    {
        foreach (var scheme in SpecialSchemes.All)
        {
            if (Matches(scheme))
            {
                return true;
            }
        }

        return false;
    }

    private static string GenerateRegex(List<Part> parts, PatternOptions options)
    {
        var segmentWildcard = options.Delimiter.Length == 0 ? @"[\s\S]+?" : "[^" + RegexText.Escape(options.Delimiter) + "]+?";
        var builder = new StringBuilder("^");
        foreach (var part in parts)
        {
            var modifier = part.Modifier switch
            {
                PartModifier.Optional => "?",
                PartModifier.ZeroOrMore => "*",
                PartModifier.OneOrMore => "+",
                _ => string.Empty,
            };
            if (part.Type == PartType.FixedText)
            {
                if (part.Modifier == PartModifier.None)
                {
                    builder.Append(RegexText.Escape(part.Value));
                }
                else
                {
                    builder.Append("(?:").Append(RegexText.Escape(part.Value)).Append(')').Append(modifier);
                }

                continue;
            }

            var value = part.Type switch
            {
                PartType.SegmentWildcard => segmentWildcard,
                PartType.FullWildcard => @"[^\n\r\u2028\u2029]*",
                _ => RegexText.ToDotNet(part.Value, out var error) ?? throw new UrlPatternException(error!),
            };
            var prefix = RegexText.Escape(part.Prefix);
            var suffix = RegexText.Escape(part.Suffix);
            if (prefix.Length == 0 && suffix.Length == 0)
            {
                if (part.Modifier is PartModifier.None or PartModifier.Optional)
                {
                    builder.Append('(').Append(value).Append(')').Append(modifier);
                }
                else
                {
                    builder.Append("((?:").Append(value).Append(')').Append(modifier).Append(')');
                }

                continue;
            }

            if (part.Modifier is PartModifier.None or PartModifier.Optional)
            {
                builder.Append("(?:").Append(prefix).Append('(').Append(value).Append(')').Append(suffix).Append(')').Append(modifier);
                continue;
            }

            builder.Append("(?:").Append(prefix).Append("((?:").Append(value).Append(")(?:").Append(suffix).Append(prefix)
                .Append("(?:").Append(value).Append("))*)").Append(suffix).Append(')');
            if (part.Modifier == PartModifier.ZeroOrMore)
            {
                builder.Append('?');
            }
        }

        return builder.Append(@"\z").ToString();
    }
}
