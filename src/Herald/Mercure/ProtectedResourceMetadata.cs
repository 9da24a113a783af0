namespace Herald.Mercure;

/// <summary>RFC 9728 protected resource metadata: where the hub's document is.</summary>
internal static class ProtectedResourceMetadata
{
    /// <summary>The well-known path inserted between a resource's host and path (RFC 9728, section 3).</summary>
    public const string WellKnownPath = "/.well-known/oauth-protected-resource";

    /// <summary>The metadata URL of <paramref name="resource"/>: <c>https://host/.well-known/oauth-protected-resource/.well-known/mercure</c>.</summary>
    public static string UrlFor(string resource)
    {
        if (!Uri.TryCreate(resource, UriKind.Absolute, out var uri))
        {
            return WellKnownPath;
        }

        var path = uri.AbsolutePath == "/" ? string.Empty : uri.AbsolutePath;
        return string.Concat(uri.GetLeftPart(UriPartial.Authority), WellKnownPath, path);
    }
}
