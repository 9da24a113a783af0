using System.Text.Json;
using Herald.Security;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Herald.Mercure;

/// <summary>
/// <c>GET {hub}/subscriptions[/…]</c>: the active subscriptions, versioned by the id of the last subscription event
/// (ETag, If-None-Match). Mercure 1.0 resources (<c>/{match_type}/{match}[/{subscriber}]</c>) answer plain JSON with
/// the reconciliation cursor on <c>Link</c>; Mercure 0.x ones (<c>/{topic}[/{subscriber}]</c>) JSON-LD, as before
/// (<see cref="SubscriptionsResource"/> tells them apart).
/// </summary>
/// <remarks>
/// The bare collection belongs to both generations, so it answers in the caller's: the 1.0 document when the hub speaks
/// 1.0 only, when the token is a 1.0 one (<c>authorization_details</c>), or when the request accepts
/// <c>application/json</c> and not <c>application/ld+json</c>; the 0.x document otherwise (what every 0.x client got).
/// Each document lists the subscriptions of its own generation, as each has its own events.
/// </remarks>
internal sealed class SubscriptionsEndpoint(MercureHub hub, MercureTokenValidator tokens, Presence presence)
{
    public async Task HandleAsync(HttpContext context)
    {
        if (CorsHeaders.Apply(context, hub.Options.CorsOrigins))
        {
            // Cross-origin readers need the cursor on Link (Mercure 1.0, "Subscription API") and the version to revalidate.
            context.Response.Headers.AccessControlExposeHeaders = "Link, ETag, " + CorsHeaders.ExposedHeaders;
        }

        if (!presence.Enabled)
        {
            await ErrorResponse.WriteAsync(context, StatusCodes.Status404NotFound, "the subscriptions API is off (enable it with the Subscriptions option)").ConfigureAwait(false);
            return;
        }

        var v1Only = hub.Options.Protocol == MercureProtocol.V1;
        var rest = RestOfPath(context);
        if (rest is null || !SubscriptionsResource.TryParse(rest, out var resource) || (v1Only && resource.IsLegacy))
        {
            await ErrorResponse.WriteAsync(context, StatusCodes.Status404NotFound, "no such subscriptions resource").ConfigureAwait(false);
            return;
        }

        var hubUrl = hub.UrlFor(context.Request);
        var validated = await tokens.AuthenticateAsync(context.Request, TokenAudience.Subscriber, hubUrl, context.RequestAborted).ConfigureAwait(false);
        if (validated.Status != TokenStatus.Valid)
        {
            await validated.RefuseAsync(context, hubUrl, TokenAudience.Subscriber).ConfigureAwait(false);
            return;
        }

        var claims = validated.Claims!;
        var legacy = resource.Kind == SubscriptionsResource.Kinds.All
            ? !(v1Only || claims.Generation == TokenGeneration.V1 || AcceptsPlainJsonOnly(context.Request))
            : resource.IsLegacy;

        // The topic to authorize is the resource's path (Mercure 1.0, "Subscription API"): for 1.0 in the canonical
        // encoding of the events' topics, so one grant covers a subscription's events and its API resource alike.
        var id = legacy ? Presence.SubscriptionsPath + (rest.Trim('/') is { Length: > 0 } r ? "/" + r : string.Empty) : CanonicalPath(resource);
        if (!hub.Matcher.MatchesAny(claims.Subscribe ?? [], [id], hubUrl))
        {
            await ErrorResponse.ForbiddenAsync(context, hubUrl, $"the token does not grant subscribe on {id}").ConfigureAwait(false);
            return;
        }

        var lastEventId = presence.LastEventId;
        var etag = "\"" + lastEventId + "\"";
        context.Response.Headers.ETag = etag;
        if (!legacy)
        {
            context.Response.Headers.Link = SubscriptionDocument.Link(hubUrl, presence.Cursor);
            context.Response.Headers.CacheControl = "must-revalidate";
        }

        if (context.Request.Headers.IfNoneMatch.ToString() == etag)
        {
            context.Response.StatusCode = StatusCodes.Status304NotModified;
            return;
        }

        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
        {
            if (resource.Subscriber is { } subscriber)
            {
                var found = presence.Subscriptions(legacy, resource.Type, resource.Match, subscriber).FirstOrDefault();
                if (found is null)
                {
                    await ErrorResponse.WriteAsync(context, StatusCodes.Status404NotFound, "no such active subscription").ConfigureAwait(false);
                    return;
                }

                if (legacy)
                {
                    LegacySubscriptionDocument.Write(json, found, withContext: true, lastEventId);
                }
                else
                {
                    SubscriptionDocument.Write(json, found, hub.Path);
                }
            }
            else if (legacy)
            {
                LegacySubscriptionDocument.WriteCollection(json, id, lastEventId, presence.Subscriptions(legacy: true, match: resource.Match));
            }
            else
            {
                SubscriptionDocument.WriteCollection(json, id, presence.Cursor, presence.Subscriptions(legacy: false, resource.Type, resource.Match), hub.Path);
            }
        }

        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = legacy ? LegacySubscriptionDocument.ContentType : SubscriptionDocument.ContentType;
        await context.Response.Body.WriteAsync(buffer.WrittenMemory, context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>The raw path after <c>{hub path}/subscriptions</c>, without the query; <c>null</c> when it is not there as such.</summary>
    private string? RestOfPath(HttpContext context)
    {
        var raw = context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? context.Request.Path.Value ?? string.Empty;
        var query = raw.IndexOf('?', StringComparison.Ordinal);
        var path = query >= 0 ? raw[..query] : raw;
        var prefix = SubscriptionDocument.Collection(hub.Path);
        var at = path.IndexOf(prefix, StringComparison.Ordinal);
        if (at < 0)
        {
            return null;
        }

        var rest = path[(at + prefix.Length)..];
        return rest.Length == 0 || rest[0] == '/' ? rest : null;
    }

    private string CanonicalPath(SubscriptionsResource resource) => resource switch
    {
        { Kind: SubscriptionsResource.Kinds.Subscription, Type: { } type } => SubscriptionDocument.Topic(hub.Path, type, resource.Match!, resource.Subscriber!),
        { Kind: SubscriptionsResource.Kinds.Matcher, Type: { } type } => SubscriptionDocument.Collection(hub.Path, type, resource.Match!),
        _ => SubscriptionDocument.Collection(hub.Path),
    };

    /// <summary>Whether the request asks for <c>application/json</c> by name and not for <c>application/ld+json</c>.</summary>
    private static bool AcceptsPlainJsonOnly(HttpRequest request)
    {
        var accept = request.GetTypedHeaders().Accept;
        return accept.Any(m => m.MediaType.Equals(SubscriptionDocument.ContentType, StringComparison.OrdinalIgnoreCase))
            && !accept.Any(m => m.MediaType.Equals(LegacySubscriptionDocument.ContentType, StringComparison.OrdinalIgnoreCase));
    }
}
