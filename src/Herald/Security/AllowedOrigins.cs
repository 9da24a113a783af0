namespace Herald.Security;

/// <summary>How a configured origin list (CORS, cookie publishing) is matched: <c>*</c>, or the origin ignoring case and a trailing slash.</summary>
internal static class AllowedOrigins
{
    public static bool Contains(IList<string> allowedOrigins, string origin)
    {
        foreach (var allowed in allowedOrigins)
        {
            if (allowed == "*" || string.Equals(allowed.TrimEnd('/'), origin, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }
}
