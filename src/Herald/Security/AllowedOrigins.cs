namespace Herald.Security;

/// <summary>How a configured origin list (CORS, cookie publishing) is matched: <c>*</c>, or the origin ignoring case and a trailing slash.</summary>
internal static class AllowedOrigins
{
    /// <summary>The wildcard entry: any origin.</summary>
    public const string Any = "*";

    /// <summary>The origin a browser sends from sandboxed frames, <c>file:</c> pages and redirects: anybody can produce it.</summary>
    public const string Opaque = "null";

    public static bool Contains(IList<string> allowedOrigins, string origin)
        => ContainsWildcard(allowedOrigins) || ContainsByName(allowedOrigins, origin);

    /// <summary>Whether the list holds <c>*</c>.</summary>
    public static bool ContainsWildcard(IList<string> allowedOrigins)
    {
        foreach (var allowed in allowedOrigins)
        {
            if (allowed == Any)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Whether the list names <paramref name="origin"/> itself (not through <c>*</c>). The opaque origin <c>null</c>
    /// is never named: any page can put itself in a sandboxed frame to send it, so trusting it trusts everyone. Nor is
    /// an origin that is not printable ASCII (a browser's never is: hosts go as punycode), since it is echoed in a
    /// response header, which could not carry it.
    /// </summary>
    public static bool ContainsByName(IList<string> allowedOrigins, string origin)
    {
        if (origin.Length == 0 || origin == Opaque || origin.AsSpan().ContainsAnyExceptInRange((char)0x20, (char)0x7E))
        {
            return false;
        }

        foreach (var allowed in allowedOrigins)
        {
            if (allowed != Any && string.Equals(allowed.TrimEnd('/'), origin, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }
}
