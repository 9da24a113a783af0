namespace Herald.Topics;

/// <summary>Which characters each <see cref="CharClass"/> holds: ASCII ones only, as 128-bit masks.</summary>
internal static class CharClasses
{
    // One 128-bit ASCII mask per CharClass, in enum order.
    private static readonly (ulong Low, ulong High)[] Masks =
    [
        Mask("-._~"),
        Mask("-._~:/?#[]@!$&'()*+,;="),
        Mask("-._~,"),
        Mask("-._~,/"),
    ];

    public static bool Contains(CharClass charClass, char c)
    {
        var (low, high) = Masks[(int)charClass];
        return c < 64 ? (low & (1UL << c)) != 0 : c < 128 && (high & (1UL << (c - 64))) != 0;
    }

    /// <summary>The class of a value that may also hold the list separators <paramref name="a"/> and <paramref name="b"/>.</summary>
    public static CharClass With(CharClass value, char a, char b)
    {
        if (value == CharClass.ReservedOrUnreserved)
        {
            return value; // ',', '.', '/' are reserved or unreserved already
        }

        var slash = a == '/' || b == '/';
        return slash ? CharClass.UnreservedCommaOrSlash : CharClass.UnreservedOrComma;
    }

    private static (ulong Low, ulong High) Mask(string extra)
    {
        ulong low = 0, high = 0;
        foreach (var c in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789" + extra)
        {
            if (c < 64)
            {
                low |= 1UL << c;
            }
            else
            {
                high |= 1UL << (c - 64);
            }
        }

        return (low, high);
    }
}
