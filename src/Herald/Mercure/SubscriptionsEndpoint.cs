using System.Text.Json;
using Herald.Security;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Herald.Mercure;

/// <summary>
/// <c>GET /.well-known/mercure/subscriptions[/{topic}[/{subscriber}]]</c>: the active subscriptions as JSON-LD,
/// versioned by the id of the last subscription event (ETag, If-None-Match).
/// </summary>
internal sealed class SubscriptionsEndpoint(MercureHub hub, MercureTokenValidator tokens, Presence presence)
{
    public async Task HandleAsync(HttpContext context)
    {
        CorsHeaders.Apply(context, hub.Options.CorsOrigins);
        if (!presence.Enabled)
        {
            await ErrorResponse.WriteAsync(context, StatusCodes.Status404NotFound, "the subscriptions API is off (enable it with the Subscriptions option)").ConfigureAwait(false);
            return;
        }

        // Segments are percent-encoded topics and ids, so read the raw target: routing would decode all but %2F.
        var raw = context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? context.Request.Path.Value ?? string.Empty;
        var query = raw.IndexOf('?', StringComparison.Ordinal);
        var path = query >= 0 ? raw[..query] : raw;
        var marker = path.IndexOf("/subscriptions", StringComparison.Ordinal);
        var rest = marker >= 0 ? path[(marker + "/subscriptions".Length)..].Trim('/') : string.Empty;
        var segments = rest.Length == 0 ? [] : rest.Split('/');
        if (segments.Length > 2)
        {
            await ErrorResponse.WriteAsync(context, StatusCodes.Status404NotFound, "no such subscriptions resource").ConfigureAwait(false);
            return;
        }

        var resource = Presence.SubscriptionsPath + (rest.Length == 0 ? string.Empty : "/" + rest);
        var hubUrl = hub.UrlFor(context.Request);
        var validated = await tokens.AuthenticateAsync(context.Request, TokenAudience.Subscriber, hubUrl, context.RequestAborted).ConfigureAwait(false);
        if (validated.Status != TokenStatus.Valid)
        {
            await validated.RefuseAsync(context, hubUrl, TokenAudience.Subscriber).ConfigureAwait(false);
            return;
        }

        if (!hub.Matcher.MatchesAny(validated.Claims!.Subscribe ?? [], [resource], hubUrl))
        {
            await ErrorResponse.WriteAsync(context, StatusCodes.Status403Forbidden, $"the token's mercure.subscribe claim does not allow {resource}").ConfigureAwait(false);
            return;
        }

        var lastEventId = presence.LastEventId;
        var etag = "\"" + lastEventId + "\"";
        context.Response.Headers.ETag = etag;
        if (context.Request.Headers.IfNoneMatch.ToString() == etag)
        {
            context.Response.StatusCode = StatusCodes.Status304NotModified;
            return;
        }

        var topic = segments.Length > 0 ? Uri.UnescapeDataString(segments[0]) : null;
        var subscriber = segments.Length > 1 ? Uri.UnescapeDataString(segments[1]) : null;
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
        {
            if (subscriber is not null)
            {
                var found = presence.Subscriptions(topic, subscriber).FirstOrDefault();
                if (found is null)
                {
                    await ErrorResponse.WriteAsync(context, StatusCodes.Status404NotFound, "no such active subscription").ConfigureAwait(false);
                    return;
                }

                json.WriteStartObject();
                json.WriteString("@context", "https://mercure.rocks/");
                json.WriteString("id", Presence.SubscriptionId(found.Topic, found.Subscriber));
                json.WriteString("type", "Subscription");
                json.WriteString("topic", found.Topic);
                json.WriteString("subscriber", found.Subscriber);
                json.WriteBoolean("active", true);
                if (found.Payload is { } payload)
                {
                    json.WritePropertyName("payload");
                    payload.WriteTo(json);
                }

                json.WriteString("lastEventID", lastEventId);
                json.WriteEndObject();
            }
            else
            {
                json.WriteStartObject();
                json.WriteString("@context", "https://mercure.rocks/");
                json.WriteString("id", resource);
                json.WriteString("type", "Subscriptions");
                json.WriteString("lastEventID", lastEventId);
                json.WriteStartArray("subscriptions");
                foreach (var s in presence.Subscriptions(topic))
                {
                    Presence.WriteSubscription(json, s, withContext: false);
                }

                json.WriteEndArray();
                json.WriteEndObject();
            }
        }

        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "application/ld+json";
        await context.Response.Body.WriteAsync(buffer.WrittenMemory, context.RequestAborted).ConfigureAwait(false);
    }
}
