using System.Text;
using System.Text.RegularExpressions;

namespace Herald.Tests.Topics;

/// <summary>
/// The regular expression Herald built for a URI template before the automaton replaced it, kept here only as
/// the reference the automaton must agree with. It runs with <see cref="RegexOptions.NonBacktracking"/> (same
/// language, linear time) and ends in <c>\z</c> where it had <c>$</c>: <c>$</c> also matched before a final
/// newline, which the reference hub (Go, where <c>$</c> is the end of text) does not.
/// </summary>
internal static class LegacyTemplateRegex
{
    public static Regex? Build(string template)
    {
        var pattern = new StringBuilder("^");
        var i = 0;
        while (i < template.Length)
        {
            var open = template.IndexOf('{', i);
            var close = template.IndexOf('}', i);
            if (open < 0)
            {
                if (close >= 0)
                {
                    return null;
                }

                pattern.Append(Regex.Escape(template[i..]));
                break;
            }

            if (close >= 0 && close < open)
            {
                return null;
            }

            pattern.Append(Regex.Escape(template[i..open]));
            close = template.IndexOf('}', open);
            if (close < 0 || !AppendExpression(pattern, template.AsSpan(open + 1, close - open - 1)))
            {
                return null;
            }

            i = close + 1;
        }

        pattern.Append(@"\z");
        return new Regex(pattern.ToString(), RegexOptions.CultureInvariant | RegexOptions.NonBacktracking);
    }

    private const string Unreserved = @"(?:[A-Za-z0-9\-._~]|%[0-9A-Fa-f]{2})";
    private const string ReservedOrUnreserved = @"(?:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})";

    private static bool AppendExpression(StringBuilder pattern, ReadOnlySpan<char> expression)
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

        var value = op is '+' or '#' ? ReservedOrUnreserved : Unreserved;
        var (first, separator, named, ifEmptyEquals) = op switch
        {
            '+' => ("", ",", false, false),
            '#' => ("#", ",", false, false),
            '.' => (".", ".", false, false),
            '/' => ("/", "/", false, false),
            ';' => (";", ";", true, false),
            '?' => ("?", "&", true, true),
            '&' => ("&", "&", true, true),
            _ => ("", ",", false, false),
        };

        // Each variable may be undefined, so the whole expression and each part is optional;
        // values of list/explode form may contain the separator or commas.
        pattern.Append("(?:");
        pattern.Append(Regex.Escape(first));
        for (var v = 0; v < variables.Count; v++)
        {
            var (name, explode) = variables[v];
            var item = named
                ? $"(?:{Regex.Escape(name)}(?:={value}*{(ifEmptyEquals ? "" : "")})?)"
                : $"{value}*";
            var list = explode || !named
                ? $"{item}(?:(?:,|{Regex.Escape(separator)}){(named && explode ? $"(?:{Regex.Escape(name)}=)?" : "")}{(named ? $"{value}*" : item)})*"
                : $"{item}(?:,{value}*)*";
            if (v > 0)
            {
                pattern.Append("(?:").Append(Regex.Escape(separator));
            }

            pattern.Append("(?:").Append(list).Append(")?");
            if (v > 0)
            {
                pattern.Append(")?");
            }
        }

        pattern.Append(")?");
        return true;
    }
}
