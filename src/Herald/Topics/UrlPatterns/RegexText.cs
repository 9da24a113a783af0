using System.Text;

namespace Herald.Topics.UrlPatterns;

/// <summary>
/// Regular expression text: escaping fixed text, and rewriting a pattern's own regexp groups from the JavaScript syntax
/// the URL Pattern Standard defines them in to .NET syntax with the same meaning on URL components.
/// </summary>
internal static class RegexText
{
    /// <summary>The standard's "escape a regexp string": each of <c>.+*?^${}()[]|/\</c> gets a backslash (valid in .NET too).</summary>
    public static string Escape(string text)
    {
        var builder = new StringBuilder(text.Length);
        foreach (var c in text)
        {
            if (c is '.' or '+' or '*' or '?' or '^' or '$' or '{' or '}' or '(' or ')' or '[' or ']' or '|' or '/' or '\\')
            {
                builder.Append('\\');
            }

            builder.Append(c);
        }

        return builder.ToString();
    }

    /// <summary>
    /// Rewrites a JavaScript regexp group body for .NET, or says why it cannot be used (one line). What changes:
    /// <c>.</c> and <c>$</c> get their JavaScript meaning (no line terminators; end of input only), <c>[^]</c> and <c>[]</c>
    /// become their .NET spellings, <c>[</c> inside a class is escaped (.NET would read class subtraction), and group
    /// constructs other than <c>(?:</c> and named groups are refused: lookarounds and backreferences would need
    /// backtracking (the linear-time engine has none) and inline options such as <c>(?i)</c> do not exist in JavaScript.
    /// </summary>
    public static string? ToDotNet(string js, out string? error)
    {
        error = null;
        var builder = new StringBuilder(js.Length + 8);
        var inClass = false;
        for (var i = 0; i < js.Length; i++)
        {
            var c = js[i];
            if (c == '\\')
            {
                if (i + 1 >= js.Length)
                {
                    error = "a regexp group ends with a backslash";
                    return null;
                }

                var next = js[i + 1];
                if (!inClass && ((char.IsAsciiDigit(next) && next != '0') || next == 'k'))
                {
                    error = "a regexp group uses a backreference, which linear-time matching cannot support";
                    return null;
                }

                builder.Append(c).Append(next);
                i++;
                continue;
            }

            if (inClass)
            {
                if (c == ']')
                {
                    inClass = false;
                }

                builder.Append(c == '[' ? "\\[" : c.ToString());
                continue;
            }

            switch (c)
            {
                case '[':
                    if (string.CompareOrdinal(js, i, "[^]", 0, 3) == 0)
                    {
                        builder.Append(@"[\s\S]");
                        i += 2;
                    }
                    else if (string.CompareOrdinal(js, i, "[]", 0, 2) == 0)
                    {
                        builder.Append(@"[^\s\S]");
                        i += 1;
                    }
                    else
                    {
                        inClass = true;
                        builder.Append(c);
                        if (i + 1 < js.Length && js[i + 1] == '^')
                        {
                            builder.Append('^');
                            i++;
                        }

                        // A ']' first in a JavaScript class ends it (the empty class, handled above); .NET would take it literally.
                    }

                    break;
                case '.':
                    builder.Append(@"[^\n\r\u2028\u2029]");
                    break;
                case '$':
                    builder.Append(@"\z");
                    break;
                case '(' when i + 1 < js.Length && js[i + 1] == '?':
                    var rest = js.AsSpan(i + 2);
                    if (rest.StartsWith(":"))
                    {
                        builder.Append("(?:");
                        i += 2;
                    }
                    else if (rest.Length > 1 && rest[0] == '<' && (char.IsAsciiLetter(rest[1]) || rest[1] is '_' or '$'))
                    {
                        builder.Append("(?<");
                        i += 2;
                    }
                    else if (rest.StartsWith("=") || rest.StartsWith("!") || rest.StartsWith("<=") || rest.StartsWith("<!"))
                    {
                        error = "a regexp group uses a lookaround, which linear-time matching cannot support";
                        return null;
                    }
                    else
                    {
                        error = "a regexp group uses an unknown '(?' construct";
                        return null;
                    }

                    break;
                default:
                    builder.Append(c);
                    break;
            }
        }

        return builder.ToString();
    }
}
