using System.Text.Json;

namespace Herald.Mercure;

/// <summary>
/// RFC 9728 protected resource metadata (Mercure 1.0, "Protected Resource Metadata"): where a hub's document is, and
/// what it says.
/// </summary>
internal static class ProtectedResourceMetadata
{
    /// <summary>The well-known path inserted between a resource's host and path (RFC 9728, section 3).</summary>
    public const string WellKnownPath = "/.well-known/oauth-protected-resource";

    /// <summary>The type of Mercure's entries in <c>authorization_details</c> (RFC 9396).</summary>
    public const string AuthorizationDetailType = "https://mercure.rocks/authorization-detail";

    /// <summary>
    /// The absolute metadata URL of <paramref name="resource"/> (RFC 9728, section 3.1): the well-known path between
    /// its authority and its path and query, a lone <c>/</c> path dropped, so
    /// <c>https://host/.well-known/mercure</c> → <c>https://host/.well-known/oauth-protected-resource/.well-known/mercure</c>.
    /// <c>null</c> when the resource is not an absolute http(s) URL with a host (a misconfigured identifier): a
    /// challenge then goes without <c>resource_metadata</c> rather than with a URL no client can use.
    /// </summary>
    /// <remarks>ASCII only (the host in its IDNA form, the path and query escaped), so it fits a header as it is.</remarks>
    public static string? UrlFor(string resource)
    {
        if (!Uri.TryCreate(resource, UriKind.Absolute, out var uri)
            || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp)
            || uri.Host.Length == 0)
        {
            return null;
        }

        var host = uri.HostNameType == UriHostNameType.IPv6 ? uri.Host : uri.IdnHost;
        var port = uri.IsDefaultPort ? string.Empty : ":" + uri.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var path = uri.AbsolutePath == "/" ? string.Empty : uri.AbsolutePath;
        return string.Concat(uri.Scheme, "://", host, port, WellKnownPath, path, uri.Query);
    }

    /// <summary>
    /// Writes the document of the hub whose resource identifier is <paramref name="resource"/>: the members Mercure
    /// defines, each only when it says something. <c>bearer_methods_supported</c> lists the RFC 6750 methods the hub
    /// takes (the header only: the query parameter is not one in 1.0, and the cookie is Mercure's own, advertised by
    /// <c>mercure_cookie</c>); <c>mercure_subscriptions</c> is omitted, as the spec asks, when the hub does not publish
    /// subscription events. No <c>authorization_servers</c>: Herald trusts keys it is given, not servers it could name.
    /// </summary>
    public static void Write(Utf8JsonWriter json, string resource, HeraldOptions options)
    {
        ArgumentNullException.ThrowIfNull(json);
        ArgumentNullException.ThrowIfNull(options);
        json.WriteStartObject();
        json.WriteString("resource", resource);
        json.WriteStartArray("authorization_details_types_supported");
        json.WriteStringValue(AuthorizationDetailType);
        json.WriteEndArray();
        json.WriteStartArray("bearer_methods_supported");
        json.WriteStringValue("header");
        json.WriteEndArray();
        if (!string.IsNullOrEmpty(options.CookieName))
        {
            json.WriteString("mercure_cookie", options.CookieName);
        }

        json.WriteStartArray("mercure_matcher_types_supported");
        json.WriteStringValue("exact");
        json.WriteStringValue("urlpattern");
        json.WriteEndArray();
        if (options.Subscriptions)
        {
            json.WriteBoolean("mercure_subscriptions", true);
        }

        json.WriteEndObject();
    }
}
