using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Herald.Cli.Demos;

/// <summary>
/// What the demo endpoints accept from a browser. Everything a page sends is checked here before it is
/// published; pages still render it as text, never HTML, so these rules are about tidiness, not escaping.
/// </summary>
internal static partial class DemoText
{
    public const int MaxNicknameLength = 24;
    public const int MaxMessageLength = 500;
    public const int MaxTestUpdateLength = 200;
    public const int MaxRoomLength = 32;

    /// <summary>A room name becomes part of a topic URI: lowercase letters, digits and inner dashes only.</summary>
    public static string? CheckRoom(string? room)
        => room is not null && RoomName().IsMatch(room)
            ? null
            : $"a room name has 1 to {MaxRoomLength} lowercase letters, digits or dashes (not at either end)";

    /// <summary>A nickname: trimmed, inner runs of spaces made one; letters, digits, spaces and <c>- _ . '</c>.</summary>
    public static (string? Value, string? Error) Nickname(string? raw)
    {
        var value = Spaces().Replace(raw?.Trim() ?? string.Empty, " ");
        if (value.Length == 0)
        {
            return (null, "pick a nickname");
        }

        if (new StringInfo(value).LengthInTextElements > MaxNicknameLength)
        {
            return (null, $"a nickname has at most {MaxNicknameLength} characters");
        }

        foreach (var rune in value.EnumerateRunes())
        {
            var allowed = Rune.IsLetterOrDigit(rune)
                || Rune.GetUnicodeCategory(rune) is UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark
                || rune.Value is ' ' or '-' or '_' or '.' or '\'';
            if (!allowed)
            {
                return (null, "a nickname may use letters, digits, spaces and - _ . '");
            }
        }

        return (value, null);
    }

    /// <summary>
    /// A message: line ends made LF, trimmed, not empty, at most <paramref name="maxLength"/> characters, no
    /// control characters but newlines (when <paramref name="multiline"/>) and tabs.
    /// </summary>
    public static (string? Value, string? Error) Message(string? raw, int maxLength, bool multiline)
    {
        var value = (raw ?? string.Empty).ReplaceLineEndings("\n").Trim();
        if (value.Length == 0)
        {
            return (null, "the message is empty");
        }

        if (new StringInfo(value).LengthInTextElements > maxLength)
        {
            return (null, $"a message has at most {maxLength} characters");
        }

        foreach (var c in value)
        {
            if (c == '\n' && !multiline)
            {
                return (null, "the message must be one line");
            }

            if (char.IsControl(c) && c is not '\n' and not '\t')
            {
                return (null, "the message contains a control character");
            }
        }

        return (value, null);
    }

    // \z, not $: $ also matches before a final newline, and "abc\n" would become part of a topic.
    [GeneratedRegex(@"\A[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?\z", RegexOptions.CultureInvariant)]
    private static partial Regex RoomName();

    [GeneratedRegex(@"\s+", RegexOptions.CultureInvariant)]
    private static partial Regex Spaces();
}
