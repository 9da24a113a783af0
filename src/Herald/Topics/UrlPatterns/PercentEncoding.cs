using System.Buffers;
using System.Text;

namespace Herald.Topics.UrlPatterns;

/// <summary>The WHATWG URL percent-encode sets and UTF-8 percent-encoding (URL Standard, "Percent-encoded bytes").</summary>
internal static class PercentEncoding
{
    /// <summary>
    /// The sets as Node 20's URL (the engine under the npm <c>urlpattern-polyfill</c> the differential test compares with)
    /// applies them; the path set does not yet hold <c>^</c>, as that Node does not.
    /// </summary>
    internal enum Set
    {
        C0Control,
        Fragment,
        Query,
        SpecialQuery,
        Path,
        Userinfo,
    }

    private static readonly SearchValues<char> FragmentExtra = SearchValues.Create(" \"<>`");
    private static readonly SearchValues<char> QueryExtra = SearchValues.Create(" \"#<>");
    private static readonly SearchValues<char> PathExtra = SearchValues.Create(" \"#<>?`{}");
    private static readonly SearchValues<char> UserinfoExtra = SearchValues.Create(" \"#<>?`{}/:;=@[\\]^|");

    private static bool InSet(char c, Set set)
    {
        if (c < 0x20 || c > 0x7E)
        {
            return true;
        }

        return set switch
        {
            Set.C0Control => false,
            Set.Fragment => FragmentExtra.Contains(c),
            Set.Query => QueryExtra.Contains(c),
            Set.SpecialQuery => QueryExtra.Contains(c) || c == '\'',
            Set.Path => PathExtra.Contains(c),
            _ => UserinfoExtra.Contains(c),
        };
    }

    /// <summary>UTF-8 percent-encodes every code point of <paramref name="value"/> in <paramref name="set"/> (a lone surrogate as U+FFFD).</summary>
    public static string Encode(string value, Set set)
    {
        var i = 0;
        while (i < value.Length && !InSet(value[i], set))
        {
            i++;
        }

        if (i == value.Length)
        {
            return value;
        }

        var builder = new StringBuilder(value.Length + 16);
        builder.Append(value, 0, i);
        Span<byte> bytes = stackalloc byte[4];
        for (; i < value.Length; i++)
        {
            var c = value[i];
            if (!InSet(c, set))
            {
                builder.Append(c);
                continue;
            }

            Rune rune;
            if (char.IsHighSurrogate(c) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
            {
                rune = new Rune(c, value[i + 1]);
                i++;
            }
            else
            {
                rune = char.IsSurrogate(c) ? Rune.ReplacementChar : new Rune(c);
            }

            var count = rune.EncodeToUtf8(bytes);
            for (var b = 0; b < count; b++)
            {
                builder.Append('%').Append(ToHex(bytes[b] >> 4)).Append(ToHex(bytes[b] & 0xF));
            }
        }

        return builder.ToString();
    }

    /// <summary>Percent-decodes to bytes (a <c>%</c> not followed by two hex digits stays as it is).</summary>
    public static byte[] Decode(string value)
    {
        var bytes = new List<byte>(value.Length);
        var utf8 = Encoding.UTF8.GetBytes(value);
        for (var i = 0; i < utf8.Length; i++)
        {
            if (utf8[i] == '%' && i + 2 < utf8.Length && IsHex(utf8[i + 1]) && IsHex(utf8[i + 2]))
            {
                bytes.Add((byte)((FromHex(utf8[i + 1]) << 4) | FromHex(utf8[i + 2])));
                i += 2;
            }
            else
            {
                bytes.Add(utf8[i]);
            }
        }

        return bytes.ToArray();
    }

    private static bool IsHex(byte b) => char.IsAsciiHexDigit((char)b);

    private static int FromHex(byte b) => b <= '9' ? b - '0' : (b | 0x20) - 'a' + 10;

    private static char ToHex(int nibble) => (char)(nibble < 10 ? '0' + nibble : 'A' + nibble - 10);
}
