using System.Globalization;
using System.Text;

namespace Herald.Topics.UrlPatterns;

/// <summary>The token types of the URL Pattern tokenizer.</summary>
internal enum PatternTokenType
{
    Open,
    Close,
    Regexp,
    Name,
    Char,
    EscapedChar,
    OtherModifier,
    Asterisk,
    End,
    InvalidChar,
}

/// <summary>A token: its type, where it starts in the input (UTF-16 index) and its value.</summary>
internal readonly record struct PatternToken(PatternTokenType Type, int Index, string Value);

/// <summary>Thrown for any pattern the URL Pattern Standard rejects; its message is one line and names no internals.</summary>
internal sealed class UrlPatternException(string message) : Exception(message);

/// <summary>The URL Pattern tokenizer (URL Pattern Standard, "Tokenizing"), strict or lenient.</summary>
internal static class PatternTokenizer
{
    public static List<PatternToken> Tokenize(string input, bool lenient)
    {
        var tokens = new List<PatternToken>();
        var index = 0;
        while (index < input.Length)
        {
            var c = input[index];
            switch (c)
            {
                case '*':
                    tokens.Add(new(PatternTokenType.Asterisk, index, "*"));
                    index++;
                    continue;
                case '+' or '?':
                    tokens.Add(new(PatternTokenType.OtherModifier, index, c.ToString()));
                    index++;
                    continue;
                case '\\':
                    if (index == input.Length - 1)
                    {
                        Error(tokens, lenient, index, index + 1, input, "a pattern ends with a backslash");
                        index++;
                        continue;
                    }

                    var escapedLength = CodePointLength(input, index + 1);
                    tokens.Add(new(PatternTokenType.EscapedChar, index, input.Substring(index + 1, escapedLength)));
                    index += 1 + escapedLength;
                    continue;
                case '{':
                    tokens.Add(new(PatternTokenType.Open, index, "{"));
                    index++;
                    continue;
                case '}':
                    tokens.Add(new(PatternTokenType.Close, index, "}"));
                    index++;
                    continue;
                case ':':
                    var nameEnd = index + 1;
                    while (nameEnd < input.Length && IsNameCodePoint(input, nameEnd, first: nameEnd == index + 1))
                    {
                        nameEnd += CodePointLength(input, nameEnd);
                    }

                    if (nameEnd == index + 1)
                    {
                        Error(tokens, lenient, index, index + 1, input, "a ':' is not followed by a group name");
                        index++;
                        continue;
                    }

                    tokens.Add(new(PatternTokenType.Name, index, input[(index + 1)..nameEnd]));
                    index = nameEnd;
                    continue;
                case '(':
                    var end = ScanRegexp(input, index, out var failure);
                    if (failure is not null)
                    {
                        Error(tokens, lenient, index, index + 1, input, failure);
                        index++;
                        continue;
                    }

                    tokens.Add(new(PatternTokenType.Regexp, index, input[(index + 1)..(end - 1)]));
                    index = end;
                    continue;
                default:
                    var length = CodePointLength(input, index);
                    tokens.Add(new(PatternTokenType.Char, index, input.Substring(index, length)));
                    index += length;
                    continue;
            }
        }

        tokens.Add(new(PatternTokenType.End, input.Length, string.Empty));
        return tokens;
    }

    /// <summary>The end (past the closing parenthesis) of the regexp group opening at <paramref name="open"/>, or why it is invalid.</summary>
    private static int ScanRegexp(string input, int open, out string? failure)
    {
        failure = null;
        var depth = 1;
        var position = open + 1;
        while (position < input.Length)
        {
            var c = input[position];
            if (!char.IsAscii(c))
            {
                failure = "a regexp group holds a non-ASCII character";
                return 0;
            }

            if (position == open + 1 && c == '?')
            {
                failure = "a regexp group starts with '?'";
                return 0;
            }

            if (c == '\\')
            {
                if (position == input.Length - 1 || !char.IsAscii(input[position + 1]))
                {
                    failure = "a regexp group holds an invalid escape";
                    return 0;
                }

                position += 2;
                continue;
            }

            if (c == ')')
            {
                depth--;
                if (depth == 0)
                {
                    position++;
                    break;
                }
            }
            else if (c == '(')
            {
                depth++;
                if (position == input.Length - 1 || input[position + 1] != '?')
                {
                    failure = "a regexp group holds a capturing group";
                    return 0;
                }
            }

            position++;
        }

        if (depth != 0)
        {
            failure = "a regexp group is not closed";
            return 0;
        }

        if (position - open - 2 == 0)
        {
            failure = "a regexp group is empty";
            return 0;
        }

        return position;
    }

    private static void Error(List<PatternToken> tokens, bool lenient, int start, int end, string input, string reason)
    {
        if (!lenient)
        {
            throw new UrlPatternException(reason);
        }

        tokens.Add(new(PatternTokenType.InvalidChar, start, input[start..end]));
    }

    private static int CodePointLength(string input, int index) =>
        char.IsHighSurrogate(input[index]) && index + 1 < input.Length && char.IsLowSurrogate(input[index + 1]) ? 2 : 1;

    /// <summary>ID_Start / ID_Continue (as JavaScript identifiers), plus <c>$</c> and <c>_</c>, and ZWNJ/ZWJ after the first.</summary>
    private static bool IsNameCodePoint(string input, int index, bool first)
    {
        var rune = Rune.GetRuneAt(input, index);
        var value = rune.Value;
        if (value is '$' or '_')
        {
            return true;
        }

        if (!first && value is 0x200C or 0x200D)
        {
            return true;
        }

        // Other_ID_Start and Other_ID_Continue (Unicode PropList) are not categories of their own.
        if (value is 0x1885 or 0x1886 or 0x2118 or 0x212E or 0x309B or 0x309C)
        {
            return true;
        }

        if (!first && (value is 0x00B7 or 0x0387 or 0x19DA or 0x30FB or 0xFF65 || value is >= 0x1369 and <= 0x1371))
        {
            return true;
        }

        var category = CharUnicodeInfo.GetUnicodeCategory(value);
        switch (category)
        {
            case UnicodeCategory.UppercaseLetter:
            case UnicodeCategory.LowercaseLetter:
            case UnicodeCategory.TitlecaseLetter:
            case UnicodeCategory.ModifierLetter:
            case UnicodeCategory.OtherLetter:
            case UnicodeCategory.LetterNumber:
                return true;
            case UnicodeCategory.NonSpacingMark:
            case UnicodeCategory.SpacingCombiningMark:
            case UnicodeCategory.DecimalDigitNumber:
            case UnicodeCategory.ConnectorPunctuation:
                return !first;
            default:
                return false;
        }
    }
}
