using System.Text;

namespace Herald.Topics;

/// <summary>
/// Matches a URI against an RFC 6570 URI template (levels 1–4), the way the Mercure reference hub does
/// (an anchored pattern, one optional group per expression), in time linear in the URI's length.
/// </summary>
/// <remarks>
/// The template used to become a backtracking <see cref="System.Text.RegularExpressions.Regex"/>: ten
/// <c>{+vN}</c> expansions then a literal took 12 s on one topic, and each compiled regex held about 300 KB.
/// It is now a small Thompson automaton (<see cref="TemplateAutomaton"/>) simulated over all its states at
/// once, so a match costs at most (URI length + 1) × (automaton size) steps whatever the template, and the
/// automaton takes about 12 bytes per instruction, a few instructions per template character.
/// The literal text before the first and after the last expression is checked first, which rejects most
/// topics without running the automaton.
/// </remarks>
internal sealed class UriTemplate
{
    private readonly TemplateAutomaton _automaton;
    private readonly string _prefix;
    private readonly string _suffix;
    private readonly int _minLength;
    private readonly string _inner;

    private UriTemplate(string template, string key, TemplateAutomaton automaton, string prefix, string suffix, int minLength, string inner)
    {
        _inner = inner;
        Template = template;
        Key = key;
        _automaton = automaton;
        _prefix = prefix;
        _suffix = suffix;
        _minLength = minLength;
    }

    public string Template { get; }

    /// <summary>
    /// The template with what does not change its matches left out: the variable names and modifiers of
    /// expressions whose names do not appear in the URI (<c>{id}</c> and <c>{bookId:3}</c> match the same
    /// topics), so templates that differ only there share one automaton.
    /// </summary>
    public string Key { get; }

    /// <summary>The literal text every matching URI starts with (used to index templates).</summary>
    public string Prefix => _prefix;

    /// <summary>The literal text every matching URI ends with (used to index templates).</summary>
    public string Suffix => _suffix;

    /// <summary>
    /// The longest literal between two expressions (empty when none): every matching URI contains it, between
    /// <see cref="Prefix"/> and <see cref="Suffix"/> (used to index templates with no literal end).
    /// </summary>
    public string Inner => _inner;

    /// <summary>How many automaton instructions the template compiled to (its memory is about 12 bytes each).</summary>
    public int Size => _automaton.Length;

    public bool Matches(string uri) => Matches(uri, out _);

    // The answer for one dispatch (see MatchesAnyInDispatch); read and written under the dispatcher's lock only.
    private long _dispatchStamp;
    private bool _dispatchAnswer;

    /// <summary>
    /// Whether the template matches one of <paramref name="topics"/>, computed once per dispatch
    /// (<paramref name="stamp"/>): a template shared by many subscribers' private claims (<c>…/users/{id}</c>) runs
    /// once per private update, not once per subscriber. Only under the dispatcher's lock, whose stamps never repeat.
    /// </summary>
    internal bool MatchesAnyInDispatch(IReadOnlyList<string> topics, long stamp)
    {
        if (_dispatchStamp != stamp)
        {
            var answer = false;
            for (var t = 0; t < topics.Count && !answer; t++)
            {
                answer = Matches(topics[t]);
            }

            _dispatchAnswer = answer;
            _dispatchStamp = stamp;
        }

        return _dispatchAnswer;
    }

    /// <summary>Matches, and says how many automaton steps it took (bounded by (URI length + 1) × <see cref="Size"/>).</summary>
    public bool Matches(string uri, out long steps)
    {
        steps = 0;
        if (uri.Length < _minLength
            || !uri.StartsWith(_prefix, StringComparison.Ordinal)
            || !uri.EndsWith(_suffix, StringComparison.Ordinal)
            || (_inner.Length > 0 && !uri.AsSpan(_prefix.Length, uri.Length - _prefix.Length - _suffix.Length).Contains(_inner, StringComparison.Ordinal)))
        {
            return false;
        }

        return _automaton.Matches(uri, out steps);
    }

    /// <summary>Parses a template; false when its braces do not pair up or an expression is malformed.</summary>
    public static bool TryParse(string template, out UriTemplate? result)
    {
        result = null;
        var builder = new TemplateAutomaton.Builder();
        var key = new StringBuilder(template.Length);
        var minLength = 0;
        var i = 0;
        int firstOpen = -1, lastClose = -1;
        var inner = "";
        while (i < template.Length)
        {
            var open = template.IndexOf('{', i);
            var close = template.IndexOf('}', i);
            if (open < 0)
            {
                if (close >= 0)
                {
                    return false;
                }

                builder.Literal(template.AsSpan(i));
                key.Append(template.AsSpan(i));
                minLength += template.Length - i;
                break;
            }

            if (close >= 0 && close < open)
            {
                return false;
            }

            builder.Literal(template.AsSpan(i, open - i));
            if (firstOpen >= 0 && open - i > inner.Length)
            {
                inner = template[i..open];
            }

            key.Append(template.AsSpan(i, open - i));
            minLength += open - i;
            close = template.IndexOf('}', open);
            if (close < 0 || !AppendExpression(builder, key, template.AsSpan(open + 1, close - open - 1)))
            {
                return false;
            }

            firstOpen = firstOpen < 0 ? open : firstOpen;
            lastClose = close;
            i = close + 1;
        }

        var prefix = firstOpen < 0 ? template : template[..firstOpen];
        var suffix = firstOpen < 0 ? "" : template[(lastClose + 1)..];
        result = new UriTemplate(template, key.ToString(), builder.Build(), prefix, suffix, minLength, inner);
        return true;
    }

    private static bool AppendExpression(TemplateAutomaton.Builder builder, StringBuilder key, ReadOnlySpan<char> expression)
    {
        if (expression.IsEmpty)
        {
            return false;
        }

        var op = expression[0];
        var names = "+#./;?&".Contains(op, StringComparison.Ordinal) ? expression[1..] : expression;
        if (!"+#./;?&".Contains(op, StringComparison.Ordinal))
        {
            op = '\0';
        }

        var variables = new List<(string Name, bool Explode)>();
        foreach (var range in names.Split(','))
        {
            var raw = names[range];
            var explode = raw.EndsWith('*');
            if (explode)
            {
                raw = raw[..^1];
            }

            var colon = raw.IndexOf(':');
            if (colon >= 0)
            {
                if (!int.TryParse(raw[(colon + 1)..], out var max) || max <= 0 || max > 9999)
                {
                    return false;
                }

                raw = raw[..colon];
            }

            if (raw.IsEmpty)
            {
                return false;
            }

            foreach (var c in raw)
            {
                if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '%'))
                {
                    return false;
                }
            }

            variables.Add((raw.ToString(), explode));
        }

        var (first, separator, named) = op switch
        {
            '+' => ('\0', ',', false),
            '#' => ('#', ',', false),
            '.' => ('.', '.', false),
            '/' => ('/', '/', false),
            ';' => (';', ';', true),
            '?' => ('?', '&', true),
            '&' => ('&', '&', true),
            _ => ('\0', ',', false),
        };
        var value = op is '+' or '#' ? CharClass.ReservedOrUnreserved : CharClass.Unreserved;
        if (named)
        {
            key.Append('{').Append(expression).Append('}');
        }
        else
        {
            key.Append('{');
            if (op != '\0')
            {
                key.Append(op);
            }

            key.Append('_', variables.Count).Append('}');
        }

        // The whole expression is optional (its variables may all be undefined): (?: first list1? (?: sep list2? )? … )?
        var whole = builder.BeginOptional();
        if (first != '\0')
        {
            builder.Char(first);
        }

        for (var v = 0; v < variables.Count; v++)
        {
            var later = v > 0 ? builder.BeginOptional() : default;
            if (v > 0)
            {
                builder.Char(separator);
            }

            AppendList(builder, variables[v].Name, variables[v].Explode, named, value, separator);
            if (v > 0)
            {
                builder.EndOptional(later);
            }
        }

        builder.EndOptional(whole);
        return true;
    }

    /// <summary>One variable's value, possibly a list or an exploded list.</summary>
    private static void AppendList(TemplateAutomaton.Builder builder, string name, bool explode, bool named, CharClass value, char separator)
    {
        if (!named)
        {
            // value*(?:(?:,|sep)value*)* is (value|,|sep)*: one loop over a class that takes the separators too.
            builder.ValueLoop(CharClasses.With(value, ',', separator));
            return;
        }

        // (?: name (?:=value*)? (?: (?:,|sep) (?:name=)? value* )* )?   (explode)
        // (?: name (?:=value*)? (?: , value* )* )?                        (not exploded)
        var list = builder.BeginOptional();
        builder.Literal(name);
        var assignment = builder.BeginOptional();
        builder.Char('=');
        builder.ValueLoop(value);
        builder.EndOptional(assignment);

        var loop = builder.BeginLoop();
        if (explode && separator != ',')
        {
            builder.Either(',', separator);
        }
        else
        {
            builder.Char(',');
        }

        if (explode)
        {
            var repeatName = builder.BeginOptional();
            builder.Literal(name);
            builder.Char('=');
            builder.EndOptional(repeatName);
        }

        builder.ValueLoop(value);
        builder.EndLoop(loop);
        builder.EndOptional(list);
    }
}
