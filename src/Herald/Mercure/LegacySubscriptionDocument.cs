using System.Text.Json;

namespace Herald.Mercure;

/// <summary>
/// Mercure 0.x subscription documents (JSON-LD, <c>application/ld+json</c>), kept for 0.x subscriptions and the 0.x
/// subscription API: <c>{"@context","id","type":"Subscription","topic","subscriber","active","payload"}</c>.
/// </summary>
internal static class LegacySubscriptionDocument
{
    public const string Context = "https://mercure.rocks/";

    public const string ContentType = "application/ld+json";

    /// <summary>One subscription; <paramref name="withContext"/> for a document of its own (an event), not inside a collection.</summary>
    public static void Write(Utf8JsonWriter json, Presence.Subscription s, bool withContext, string? lastEventId = null)
    {
        json.WriteStartObject();
        if (withContext)
        {
            json.WriteString("@context", Context);
        }

        json.WriteString("id", Presence.SubscriptionId(s.Match, s.Subscriber));
        json.WriteString("type", "Subscription");
        json.WriteString("topic", s.Match);
        s.WriteState(json);

        if (lastEventId is not null)
        {
            json.WriteString("lastEventID", lastEventId);
        }

        json.WriteEndObject();
    }

    /// <summary>A collection, with the id of the last subscription event as its <c>lastEventID</c>.</summary>
    public static void WriteCollection(Utf8JsonWriter json, string id, string lastEventId, IEnumerable<Presence.Subscription> subscriptions)
    {
        json.WriteStartObject();
        json.WriteString("@context", Context);
        json.WriteString("id", id);
        json.WriteString("type", "Subscriptions");
        json.WriteString("lastEventID", lastEventId);
        json.WriteStartArray("subscriptions");
        foreach (var s in subscriptions)
        {
            Write(json, s, withContext: false);
        }

        json.WriteEndArray();
        json.WriteEndObject();
    }
}
