using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Herald.Mercure;

/// <summary>
/// <c>GET /.well-known/oauth-protected-resource/…</c>: the hub's RFC 9728 metadata, at the path RFC 9728 derives from
/// its URL (the well-known path, then the hub URL's path: <c>/.well-known/oauth-protected-resource/.well-known/mercure</c>
/// for the default hub). Mapped at the app's root, since that is where clients look, whatever the hub's own path.
/// </summary>
/// <remarks>
/// <para>
/// The hub URL's path is the hub's path behind whatever prefix the app is served under (a path base, a proxy's
/// prefix); a request for the metadata is not under that prefix, so the prefix is read from the request itself:
/// <c>/.well-known/oauth-protected-resource/base/.well-known/mercure</c> is the document of
/// <c>https://host/base/.well-known/mercure</c>, the URL that hub has under the path base <c>/base</c>. A path that does
/// not end with the hub's path is no hub's: 404. With <see cref="HeraldOptions.ResourceIdentifier"/> pinned, the
/// document names that identifier wherever it is asked for.
/// </para>
/// <para>
/// The document is public, the same for everyone, and carries nothing a credential would unlock, so any origin may read
/// it (<c>Access-Control-Allow-Origin: *</c>, no credentials): browser clients discover the hub's identifier and cookie
/// before they hold a token, from pages the hub's CORS list cannot know in advance.
/// </para>
/// </remarks>
internal sealed class ProtectedResourceMetadataEndpoint(MercureHub hub)
{
    /// <summary>The route the endpoint answers, at the app's root.</summary>
    public const string Route = ProtectedResourceMetadata.WellKnownPath + "/{**resource}";

    public async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        var response = context.Response;
        response.Headers.AccessControlAllowOrigin = "*";
        if (ResourceFor(request) is not { } resource)
        {
            response.StatusCode = StatusCodes.Status404NotFound;
            response.ContentType = "text/plain; charset=utf-8";
            await response.WriteAsync("no protected resource at this path\n", context.RequestAborted).ConfigureAwait(false);
            return;
        }

        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "application/json";
        using var buffer = new MemoryStream();
        await using (var json = new Utf8JsonWriter(buffer))
        {
            ProtectedResourceMetadata.Write(json, resource, hub.Options);
        }

        response.ContentLength = buffer.Length;
        await response.Body.WriteAsync(buffer.GetBuffer().AsMemory(0, (int)buffer.Length), context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>The resource identifier whose metadata URL <paramref name="request"/> asks for, or <c>null</c>.</summary>
    internal string? ResourceFor(HttpRequest request)
    {
        var path = request.Path.Value ?? string.Empty;
        if (!path.StartsWith(ProtectedResourceMetadata.WellKnownPath, StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        var resourcePath = path[ProtectedResourceMetadata.WellKnownPath.Length..];
        var hubPath = hub.Path;
        var pinned = hub.Options.ResourceIdentifier is { Length: > 0 } identifier ? identifier : null;
        if (!resourcePath.EndsWith(hubPath, StringComparison.OrdinalIgnoreCase))
        {
            return pinned is not null && Uri.TryCreate(pinned, UriKind.Absolute, out var uri)
                && string.Equals(resourcePath, uri.AbsolutePath, StringComparison.OrdinalIgnoreCase)
                    ? pinned
                    : null;
        }

        // What comes before the hub's path is the prefix its URL has: nothing, or whole segments.
        var prefix = resourcePath[..^hubPath.Length];
        if (prefix.Length > 0 && (prefix[0] != '/' || prefix[^1] == '/'))
        {
            return null;
        }

        if (pinned is not null)
        {
            return pinned;
        }

        var pathBase = request.PathBase.Add(new PathString(prefix));
        return string.Concat(request.Scheme, "://", request.Host.ToUriComponent(), pathBase.ToUriComponent(), hubPath);
    }
}
