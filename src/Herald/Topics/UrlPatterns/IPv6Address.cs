using System.Globalization;
using System.Text;

namespace Herald.Topics.UrlPatterns;

/// <summary>The URL Standard's IPv6 parser and serializer.</summary>
internal static class IPv6Address
{
    /// <summary>The eight pieces of the address, or null when <paramref name="input"/> is not one.</summary>
    public static ushort[]? Parse(string input)
    {
        var address = new ushort[8];
        var pieceIndex = 0;
        int? compress = null;
        var pointer = 0;
        char At(int p) => p < input.Length ? input[p] : '\uFFFF';

        if (At(pointer) == ':')
        {
            if (At(pointer + 1) != ':')
            {
                return null;
            }

            pointer += 2;
            pieceIndex++;
            compress = pieceIndex;
        }

        while (pointer < input.Length)
        {
            if (pieceIndex == 8)
            {
                return null;
            }

            if (At(pointer) == ':')
            {
                if (compress is not null)
                {
                    return null;
                }

                pointer++;
                pieceIndex++;
                compress = pieceIndex;
                continue;
            }

            int value = 0, length = 0;
            while (length < 4 && char.IsAsciiHexDigit(At(pointer)))
            {
                value = value * 16 + (char.IsAsciiDigit(At(pointer)) ? At(pointer) - '0' : (At(pointer) | 0x20) - 'a' + 10);
                pointer++;
                length++;
            }

            if (At(pointer) == '.')
            {
                if (length == 0)
                {
                    return null;
                }

                pointer -= length;
                if (pieceIndex > 6)
                {
                    return null;
                }

                var numbersSeen = 0;
                while (pointer < input.Length)
                {
                    int? ipv4Piece = null;
                    if (numbersSeen > 0)
                    {
                        if (At(pointer) == '.' && numbersSeen < 4)
                        {
                            pointer++;
                        }
                        else
                        {
                            return null;
                        }
                    }

                    if (!char.IsAsciiDigit(At(pointer)))
                    {
                        return null;
                    }

                    while (char.IsAsciiDigit(At(pointer)))
                    {
                        var number = At(pointer) - '0';
                        if (ipv4Piece is null)
                        {
                            ipv4Piece = number;
                        }
                        else if (ipv4Piece == 0)
                        {
                            return null;
                        }
                        else
                        {
                            ipv4Piece = ipv4Piece * 10 + number;
                        }

                        if (ipv4Piece > 255)
                        {
                            return null;
                        }

                        pointer++;
                    }

                    address[pieceIndex] = (ushort)(address[pieceIndex] * 0x100 + ipv4Piece!.Value);
                    numbersSeen++;
                    if (numbersSeen == 2 || numbersSeen == 4)
                    {
                        pieceIndex++;
                    }
                }

                if (numbersSeen != 4)
                {
                    return null;
                }

                break;
            }

            if (At(pointer) == ':')
            {
                pointer++;
                if (pointer >= input.Length)
                {
                    return null;
                }
            }
            else if (pointer < input.Length)
            {
                return null;
            }

            address[pieceIndex] = (ushort)value;
            pieceIndex++;
        }

        if (compress is not null)
        {
            var swaps = pieceIndex - compress.Value;
            pieceIndex = 7;
            while (pieceIndex != 0 && swaps > 0)
            {
                (address[pieceIndex], address[compress.Value + swaps - 1]) = (address[compress.Value + swaps - 1], address[pieceIndex]);
                pieceIndex--;
                swaps--;
            }
        }
        else if (pieceIndex != 8)
        {
            return null;
        }

        return address;
    }

    /// <summary>The address as a URL host spells it (without brackets): lowercase hex, the first longest zero run as <c>::</c>.</summary>
    public static string Serialize(ushort[] address)
    {
        // The first longest run of two or more zero pieces is compressed.
        int bestStart = -1, bestLength = 1;
        for (var i = 0; i < 8;)
        {
            if (address[i] != 0)
            {
                i++;
                continue;
            }

            var start = i;
            while (i < 8 && address[i] == 0)
            {
                i++;
            }

            if (i - start > bestLength)
            {
                bestStart = start;
                bestLength = i - start;
            }
        }

        var builder = new StringBuilder(40);
        var ignore0 = false;
        for (var i = 0; i < 8; i++)
        {
            if (ignore0 && address[i] == 0)
            {
                continue;
            }

            ignore0 = false;
            if (i == bestStart)
            {
                builder.Append(i == 0 ? "::" : ":");
                ignore0 = true;
                continue;
            }

            builder.Append(address[i].ToString("x", CultureInfo.InvariantCulture));
            if (i != 7)
            {
                builder.Append(':');
            }
        }

        return builder.ToString();
    }
}
