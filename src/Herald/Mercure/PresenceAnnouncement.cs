using System.Text.Json;
using Herald.Topics;

namespace Herald.Mercure;

/// <summary>
/// The text a join or leave travels as through the store (<see cref="Storage.IUpdateStore.AnnounceAsync"/>), to every
/// node of a cluster: the subscriber id, whether it joined, and each subscription with its matcher type and payload.
/// </summary>
/// <remarks>
/// <para>
/// Nodes of one cluster may run different versions during a rolling upgrade, so the format only grows. What Herald
/// wrote before Mercure 1.0, <c>{"subscriber","active","topics":[…],"payload"}</c>, is still written for the 0.x
/// subscriptions that share one payload (all of them, with a 0.x token, whose one <c>mercure.payload</c> they carry):
/// an older node reads those and skips what it does not know. Every other subscription (1.0 matchers, and 0.x
/// selectors whose payloads differ, as a 1.0 token's details can give) goes in <c>"matchers"</c>, each
/// <c>{"match_type","match","payload"}</c>, which older nodes ignore. A matcher type this node does not know (from a
/// newer node) is skipped, not taken for another.
/// </para>
/// <para>
/// Announcements come from the hubs sharing the store, so a malformed one is dropped whole, never half applied.
/// </para>
/// </remarks>
internal static class PresenceAnnouncement
{
    private const string TopicType = "topic";

    public static string Write(Presence.SubscriberEntry entry, bool active)
    {
        var legacy = entry.Subscriptions.FirstOrDefault(s => s.IsLegacy);
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("subscriber", entry.Id);
            json.WriteBoolean("active", active);
            json.WriteStartArray("topics");
            foreach (var s in entry.Subscriptions)
            {
                if (SharesLegacyPayload(s, legacy))
                {
                    json.WriteStringValue(s.Match);
                }
            }

            json.WriteEndArray();
            if (legacy?.Payload is { } shared)
            {
                json.WritePropertyName("payload");
                shared.WriteTo(json);
            }

            if (entry.Subscriptions.Any(s => !SharesLegacyPayload(s, legacy)))
            {
                json.WriteStartArray("matchers");
                foreach (var s in entry.Subscriptions)
                {
                    if (!SharesLegacyPayload(s, legacy))
                    {
                        json.WriteStartObject();
                        json.WriteString("match_type", s.IsLegacy ? TopicType : SubscriptionDocument.TypeName(s.Selector.Type));
                        json.WriteString("match", s.Match);
                        if (s.Payload is { } payload)
                        {
                            json.WritePropertyName("payload");
                            payload.WriteTo(json);
                        }

                        json.WriteEndObject();
                    }
                }

                json.WriteEndArray();
            }

            json.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    public static bool TryRead(string announcement, out Presence.SubscriberEntry entry, out bool active)
    {
        entry = null!;
        active = false;
        try
        {
            using var json = JsonDocument.Parse(announcement);
            var root = json.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty("subscriber", out var s) || s.ValueKind != JsonValueKind.String
                || !root.TryGetProperty("active", out var a) || a.ValueKind is not (JsonValueKind.True or JsonValueKind.False)
                || !root.TryGetProperty("topics", out var t) || t.ValueKind != JsonValueKind.Array)
            {
                return false;
            }

            var id = s.GetString()!;
            JsonElement? shared = root.TryGetProperty("payload", out var p) ? p.Clone() : null;
            var subscriptions = new List<Presence.Subscription>(t.GetArrayLength());
            foreach (var topic in t.EnumerateArray())
            {
                if (topic.ValueKind != JsonValueKind.String)
                {
                    return false;
                }

                subscriptions.Add(new Presence.Subscription(id, Selector.Topic(topic.GetString()!), shared));
            }

            if (root.TryGetProperty("matchers", out var m) && !TryReadMatchers(m, id, subscriptions))
            {
                return false;
            }

            entry = new Presence.SubscriberEntry(id, subscriptions);
            active = a.GetBoolean();
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static bool TryReadMatchers(JsonElement matchers, string id, List<Presence.Subscription> subscriptions)
    {
        if (matchers.ValueKind != JsonValueKind.Array)
        {
            return false;
        }

        foreach (var matcher in matchers.EnumerateArray())
        {
            if (matcher.ValueKind != JsonValueKind.Object
                || !matcher.TryGetProperty("match_type", out var type) || type.ValueKind != JsonValueKind.String
                || !matcher.TryGetProperty("match", out var match) || match.ValueKind != JsonValueKind.String)
            {
                return false;
            }

            MatcherType? kind = type.ValueEquals(TopicType) ? MatcherType.Topic : SubscriptionDocument.ParseTypeName(type.GetString()!);
            if (kind is { } known)
            {
                JsonElement? payload = matcher.TryGetProperty("payload", out var p) ? p.Clone() : null;
                subscriptions.Add(new Presence.Subscription(id, new Selector(known, match.GetString()!), payload));
            }
        }

        return true;
    }

    /// <summary>Whether <paramref name="s"/> travels in the pre-1.0 fields: a 0.x subscription with the first one's payload.</summary>
    private static bool SharesLegacyPayload(Presence.Subscription s, Presence.Subscription? first)
        => s.IsLegacy && first is not null && SamePayload(s.Payload, first.Payload);

    private static bool SamePayload(JsonElement? a, JsonElement? b)
        => a is { } x ? b is { } y && JsonElement.DeepEquals(x, y) : b is null;
}
