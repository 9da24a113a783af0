using Microsoft.AspNetCore.Http;

namespace Herald.Mercure;

/// <summary>
/// The hub's URL as a request reaches it: the base relative URL patterns and relative topics resolve against, and
/// (unless <see cref="HeraldOptions.ResourceIdentifier"/> pins one) the OAuth 2.0 resource identifier tokens name
/// in <c>aud</c>. Derived from the request's scheme, host, path base and the hub's path, as the reference hub does, so
/// a hub reachable under several names works with no configuration.
/// </summary>
internal static class HubUrl
{
    /// <summary>The hub URL for <paramref name="request"/>: the configured resource identifier, else derived.</summary>
    public static string For(HttpRequest request, HeraldOptions options, string hubPath)
        => options.ResourceIdentifier is { Length: > 0 } pinned ? pinned : Derive(request, hubPath);

    /// <summary><c>scheme://host</c> + path base + hub path.</summary>
    public static string Derive(HttpRequest request, string hubPath)
        => string.Concat(request.Scheme, "://", request.Host.ToUriComponent(), request.PathBase.ToUriComponent(), hubPath);
}
