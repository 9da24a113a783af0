using System.Buffers;
using System.Globalization;
using System.Text;

namespace Herald.Topics.UrlPatterns;

/// <summary>
/// The WHATWG URL host parser: domains (IDNA through <see cref="IdnMapping"/>), IPv4 with its legacy number forms,
/// IPv6 and opaque hosts. It returns the host serialized, or null for failure.
/// </summary>
internal static class HostParser
{
    private static readonly SearchValues<char> ForbiddenHost = SearchValues.Create("\0\t\n\r #/:<>?@[\\]^|");
    private static readonly SearchValues<char> ForbiddenDomain = SearchValues.Create(
        "\0\t\n\r #/:<>?@[\\]^|%\u007F\u0001\u0002\u0003\u0004\u0005\u0006\u0007\u0008\u000B\u000C\u000E\u000F" +
        "\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001A\u001B\u001C\u001D\u001E\u001F");

    // UTS 46 with UseSTD3ASCIIRules off, as the URL Standard's "domain to ASCII" asks (beStrict false).
    private static readonly IdnMapping Idn = new() { AllowUnassigned = true, UseStd3AsciiRules = false };

    /// <summary>Parses <paramref name="input"/>; <paramref name="isOpaque"/> for a URL whose scheme is not special.</summary>
    public static string? Parse(string input, bool isOpaque)
    {
        if (input.StartsWith('['))
        {
            if (!input.EndsWith(']'))
            {
                return null;
            }

            var address = IPv6Address.Parse(input[1..^1]);
            return address is null ? null : "[" + IPv6Address.Serialize(address) + "]";
        }

        if (isOpaque)
        {
            return input.AsSpan().ContainsAny(ForbiddenHost) ? null : PercentEncoding.Encode(input, PercentEncoding.Set.C0Control);
        }

        var domain = Encoding.UTF8.GetString(PercentEncoding.Decode(input));
        var ascii = DomainToAscii(domain);
        if (ascii is null || ascii.Length == 0 || ascii.AsSpan().ContainsAny(ForbiddenDomain))
        {
            return null;
        }

        return EndsInANumber(ascii) ? ParseIPv4(ascii) : ascii;
    }

    /// <summary>
    /// Label by label: ASCII labels are lowercased (an <c>xn--</c> label must decode), others are lowercased and
    /// Punycode-encoded by <see cref="IdnMapping"/>. Going label by label keeps what the URL Standard allows and
    /// <see cref="IdnMapping"/> refuses on a whole name: empty labels, hyphens at either end, names past DNS lengths
    /// (CheckHyphens and VerifyDnsLength are off there).
    /// Herald runs with InvariantGlobalization, where <see cref="IdnMapping"/> has no UTS 46 mapping and
    /// <see cref="string.Normalize()"/> does nothing (measured: "CAFÉ" gave xn--caf-pia, a browser gives xn--caf-dma).
    /// So the mapping is approximated: lowercase, fullwidth ASCII to ASCII, the ideographic dots to '.'. A host spelled
    /// with other compatibility characters or decomposed accents gets another name than a browser would give it, so it
    /// matches no pattern written the usual way (it fails closed).
    /// </summary>
    private static string? DomainToAscii(string domain)
    {
        if (!Ascii.IsValid(domain))
        {
            domain = string.Create(domain.Length, domain, static (span, source) =>
            {
                for (var i = 0; i < source.Length; i++)
                {
                    var c = source[i];
                    span[i] = c is >= '\uFF01' and <= '\uFF5E' ? (char)(c - 0xFEE0) : c is '\u3002' or '\uFF61' ? '.' : c;
                }
            });
        }

        var labels = domain.Split('.');
        for (var i = 0; i < labels.Length; i++)
        {
            var label = labels[i];
            if (label.Length == 0)
            {
                continue;
            }

            try
            {
                if (Ascii.IsValid(label))
                {
                    label = label.ToLowerInvariant();
                    if (label.StartsWith("xn--", StringComparison.Ordinal))
                    {
                        _ = Idn.GetUnicode(label);
                    }
                }
                else
                {
                    label = Idn.GetAscii(label.ToLowerInvariant());
                }
            }
            catch (ArgumentException)
            {
                return null;
            }

            labels[i] = label;
        }

        return string.Join('.', labels);
    }

    private static bool EndsInANumber(string input)
    {
        var parts = input.Split('.');
        var last = parts.Length - 1;
        if (parts[last].Length == 0)
        {
            if (parts.Length == 1)
            {
                return false;
            }

            last--;
        }

        var part = parts[last];
        if (part.Length > 0 && part.AsSpan().IndexOfAnyExceptInRange('0', '9') < 0)
        {
            return true;
        }

        return ParseIPv4Number(part, out _);
    }

    private static string? ParseIPv4(string input)
    {
        var parts = new List<string>(input.Split('.'));
        if (parts[^1].Length == 0 && parts.Count > 1)
        {
            parts.RemoveAt(parts.Count - 1);
        }

        if (parts.Count > 4)
        {
            return null;
        }

        var numbers = new ulong[parts.Count];
        for (var i = 0; i < parts.Count; i++)
        {
            if (!ParseIPv4Number(parts[i], out numbers[i]))
            {
                return null;
            }
        }

        for (var i = 0; i < numbers.Length - 1; i++)
        {
            if (numbers[i] > 255)
            {
                return null;
            }
        }

        if (numbers[^1] >= 1UL << (8 * (5 - numbers.Length)))
        {
            return null;
        }

        var address = numbers[^1];
        for (var i = 0; i < numbers.Length - 1; i++)
        {
            address += numbers[i] << (8 * (3 - i));
        }

        return string.Create(CultureInfo.InvariantCulture, $"{address >> 24}.{(address >> 16) & 255}.{(address >> 8) & 255}.{address & 255}");
    }

    /// <summary>An IPv4 part: decimal, <c>0x</c> hex or <c>0</c>-prefixed octal; values saturate far above 2^32 (they fail anyway).</summary>
    private static bool ParseIPv4Number(string input, out ulong value)
    {
        value = 0;
        if (input.Length == 0)
        {
            return false;
        }

        var radix = 10u;
        var digits = input.AsSpan();
        if (digits.Length >= 2 && digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X'))
        {
            digits = digits[2..];
            radix = 16;
        }
        else if (digits.Length >= 2 && digits[0] == '0')
        {
            digits = digits[1..];
            radix = 8;
        }

        foreach (var c in digits)
        {
            uint digit;
            if (char.IsAsciiDigit(c))
            {
                digit = (uint)(c - '0');
            }
            else if (char.IsAsciiHexDigit(c))
            {
                digit = (uint)((c | 0x20) - 'a' + 10);
            }
            else
            {
                return false;
            }

            if (digit >= radix)
            {
                return false;
            }

            value = Math.Min(value * radix + digit, 1UL << 40);
        }

        return true;
    }
}
