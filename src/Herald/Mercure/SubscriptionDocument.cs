using System.Text.Json;
using Herald.Topics;

namespace Herald.Mercure;

/// <summary>
/// Mercure 1.0 subscription documents (plain JSON, <c>application/json</c>): the topic and body of a subscription event,
/// and the subscription API's collections (Mercure 1.0, "Subscription Events", "Subscription API").
/// </summary>
internal static class SubscriptionDocument
{
    /// <summary>The SSE event type of every hub-made event; publishers may not use it.</summary>
    public const string EventType = "mercure";

    public const string ContentType = "application/json";

    /// <summary>The matcher type's name in its canonical case (Mercure 1.0, "Matcher Types").</summary>
    public static string TypeName(MatcherType type) => type switch
    {
        MatcherType.Exact => "exact",
        MatcherType.UrlPattern => "urlpattern",
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "not a Mercure 1.0 matcher type"),
    };

    /// <summary>The 1.0 matcher type named <paramref name="name"/> (case-sensitive, as URL paths are); <c>null</c> for any other.</summary>
    public static MatcherType? ParseTypeName(string name) => name switch
    {
        "exact" => MatcherType.Exact,
        "urlpattern" => MatcherType.UrlPattern,
        _ => null,
    };

    /// <summary><c>{hub path}/subscriptions</c>: the collection of every subscription, and the prefix of the rest.</summary>
    public static string Collection(string hubPath) => hubPath + "/subscriptions";

    /// <summary><c>{hub path}/subscriptions/{match_type}/{match}</c>: the collection of one matcher's subscriptions.</summary>
    public static string Collection(string hubPath, MatcherType type, string match)
        => string.Concat(Collection(hubPath), "/", TypeName(type), "/", Uri.EscapeDataString(match));

    /// <summary>
    /// <c>{hub path}/subscriptions/{match_type}/{match}/{subscriber}</c>: the subscription's event topic, its document's
    /// <c>id</c> and its API resource. The matcher and the subscriber are each percent-encoded once, as a whole, as RFC
    /// 6570 simple expansion does (everything but unreserved characters; a <c>%</c> they hold becomes <c>%25</c>).
    /// </summary>
    public static string Topic(string hubPath, Presence.Subscription subscription)
        => Topic(hubPath, subscription.Selector.Type, subscription.Match, subscription.Subscriber);

    public static string Topic(string hubPath, MatcherType type, string match, string subscriber)
        => string.Concat(Collection(hubPath, type, match), "/", Uri.EscapeDataString(subscriber));

    /// <summary>The subscription event document, also the API's single-subscription body.</summary>
    public static void Write(Utf8JsonWriter json, Presence.Subscription s, string hubPath)
    {
        json.WriteStartObject();
        json.WriteString("id", Topic(hubPath, s));
        json.WriteString("type", "subscription");
        json.WriteString("match_type", TypeName(s.Selector.Type));
        json.WriteString("match", s.Match);
        s.WriteState(json);

        json.WriteEndObject();
    }

    /// <summary>
    /// A collection: <c>id</c> (the URL it was read at), <c>type</c> <c>subscriptions</c>, the subscriptions. The
    /// reference hub's OpenAPI also lists <c>last_event_id</c> in collections; the spec carries the cursor on the
    /// <c>Link</c> header, and a collection may hold more properties, so both are given.
    /// </summary>
    public static void WriteCollection(Utf8JsonWriter json, string id, string cursor, IEnumerable<Presence.Subscription> subscriptions, string hubPath)
    {
        json.WriteStartObject();
        json.WriteString("id", id);
        json.WriteString("type", "subscriptions");
        json.WriteString("last_event_id", cursor);
        json.WriteStartArray("subscriptions");
        foreach (var s in subscriptions)
        {
            Write(json, s, hubPath);
        }

        json.WriteEndArray();
        json.WriteEndObject();
    }

    /// <summary>
    /// The <c>Link</c> every 1.0 subscription API answer carries: the hub, with the reconciliation cursor, the event type
    /// and the content type of subscription events (Mercure 1.0, "Subscription API").
    /// </summary>
    public static string Link(string hubUrl, string cursor)
        => $"<{hubUrl}>; rel=\"mercure\"; last-event-id=\"{cursor}\"; type=\"{EventType}\"; content-type=\"{ContentType}\"";
}
