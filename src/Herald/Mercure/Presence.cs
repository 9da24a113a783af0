using System.Collections.Concurrent;
using System.Text.Json;
using Herald.Dispatch;
using Herald.Storage;

namespace Herald.Mercure;

/// <summary>
/// Who is subscribed to what: turns a join or leave into private subscription updates (Mercure "active
/// subscriptions") and answers the subscriptions API from the same registry.
/// </summary>
/// <remarks>
/// <para>
/// A join or leave is one announcement through the store (<see cref="IUpdateStore.AnnounceAsync"/>, made by the hub), never an
/// update in history: subscription events are not replayed, take no sequence and are not counted by retention, so
/// no number of joins and leaves can push a real update out of history (storing one update per topic let one
/// anonymous connection with 1,000 topics add 2,000 rows per join and leave). Each node turns the announcement into
/// the spec's one update per topic for its own subscribers: what a join costs is one store entry (none on a single
/// node) and a dispatch linear in the topics the client sent, which <see cref="HeraldOptions.MaxTopicsPerSubscription"/> bounds.
/// </para>
/// <para>
/// The registry learns only from announcements, so in a cluster (one shared store) every node lists the subscribers
/// of every node, and an update published on the subscriptions path, whoever sent it, is never taken for one. It
/// knows what happened since this node started, and a node killed without shutdown leaves its subscribers listed
/// until the other nodes restart.
/// </para>
/// <para>
/// It is a plain consumer the hub is built with: the hub registers a subscriber here and announces it, the store
/// hands the announcement to the hub's sink, and the sink gives it to <see cref="OnAnnouncement"/> and dispatches the
/// events it returns. Presence itself calls nothing back.
/// </para>
/// </remarks>
internal sealed class Presence
{
    public const string SubscriptionsPath = "/.well-known/mercure/subscriptions";
    private const string Context = "https://mercure.rocks/";

    private readonly ConcurrentDictionary<string, SubscriberEntry> _subscribers = new(StringComparer.Ordinal);
    private string _lastEventId = Update.NewId();

    /// <param name="enabled">Whether the hub publishes subscription events (<see cref="HeraldOptions.Subscriptions"/>).</param>
    public Presence(bool enabled) => Enabled = enabled;

    public bool Enabled { get; }

    /// <summary>The id of the last subscription event: the collection's version (its ETag).</summary>
    public string LastEventId => Volatile.Read(ref _lastEventId);

    /// <summary>Registers <paramref name="subscriber"/>; <c>null</c> when presence is off. The hub announces the entry.</summary>
    public SubscriberEntry? Join(TopicSubscriber subscriber, JsonElement? payload)
    {
        if (!Enabled)
        {
            return null;
        }

        var entry = new SubscriberEntry(Update.NewId(), [.. subscriber.Selectors.Select(s => s.Value)], payload);
        _subscribers[entry.Id] = entry;
        return entry;
    }

    /// <summary>Removes <paramref name="entry"/>; <c>true</c> when it was registered, and so its leave is to be announced.</summary>
    public bool Leave(SubscriberEntry? entry) => entry is not null && _subscribers.TryRemove(entry.Id, out _);

    /// <summary>The active subscriptions, optionally only those of one topic selector and one subscriber.</summary>
    public IEnumerable<Subscription> Subscriptions(string? topic = null, string? subscriberId = null)
    {
        foreach (var entry in _subscribers.Values)
        {
            if (subscriberId is not null && entry.Id != subscriberId)
            {
                continue;
            }

            foreach (var selector in entry.Topics)
            {
                if (topic is null || selector == topic)
                {
                    yield return new Subscription(entry.Id, selector, entry.Payload, Active: true);
                }
            }
        }
    }

    /// <summary>
    /// Applies a join or leave announced by any node (this one included) and returns its subscription events, one per
    /// topic, for the hub to deliver to this node's subscribers. Announcements come in one order everywhere, so the
    /// registries converge; this node's own find their subscriber already registered (or removed) and change nothing.
    /// </summary>
    public Update[] OnAnnouncement(string announcement)
    {
        if (!Enabled || !TryParse(announcement, out var entry, out var active))
        {
            return [];
        }

        if (active)
        {
            _subscribers.TryAdd(entry.Id, entry);
        }
        else
        {
            _subscribers.TryRemove(entry.Id, out _);
        }

        var events = new Update[entry.Topics.Count];
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        for (var i = 0; i < events.Length; i++)
        {
            var topic = entry.Topics[i];
            buffer.ResetWrittenCount();
            using (var json = new Utf8JsonWriter(buffer))
            {
                WriteSubscription(json, new Subscription(entry.Id, topic, entry.Payload, active), withContext: true);
            }

            var id = Update.NewId();
            events[i] = new Update
            {
                Topics = [SubscriptionId(topic, entry.Id)],
                Data = System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan),
                Private = true,
                EventId = id,
            };
            Volatile.Write(ref _lastEventId, id);
        }

        return events;
    }

    /// <summary>The announcement of <paramref name="entry"/> joining (<paramref name="active"/>) or leaving, as <see cref="OnAnnouncement"/> reads it.</summary>
    public static string Announcement(SubscriberEntry entry, bool active)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("subscriber", entry.Id);
            json.WriteBoolean("active", active);
            json.WriteStartArray("topics");
            foreach (var topic in entry.Topics)
            {
                json.WriteStringValue(topic);
            }

            json.WriteEndArray();
            if (entry.Payload is { } payload)
            {
                json.WritePropertyName("payload");
                payload.WriteTo(json);
            }

            json.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static bool TryParse(string announcement, out SubscriberEntry entry, out bool active)
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

            var topics = new List<string>(t.GetArrayLength());
            foreach (var topic in t.EnumerateArray())
            {
                if (topic.ValueKind != JsonValueKind.String)
                {
                    return false;
                }

                topics.Add(topic.GetString()!);
            }

            JsonElement? payload = root.TryGetProperty("payload", out var p) ? p.Clone() : null;
            entry = new SubscriberEntry(s.GetString()!, topics, payload);
            active = a.GetBoolean();
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    public static string SubscriptionId(string topic, string subscriber)
        => $"{SubscriptionsPath}/{Uri.EscapeDataString(topic)}/{Uri.EscapeDataString(subscriber)}";

    public static void WriteSubscription(Utf8JsonWriter json, Subscription s, bool withContext)
    {
        json.WriteStartObject();
        if (withContext)
        {
            json.WriteString("@context", Context);
        }

        json.WriteString("id", SubscriptionId(s.Topic, s.Subscriber));
        json.WriteString("type", "Subscription");
        json.WriteString("topic", s.Topic);
        json.WriteString("subscriber", s.Subscriber);
        json.WriteBoolean("active", s.Active);
        if (s.Payload is { } payload)
        {
            json.WritePropertyName("payload");
            payload.WriteTo(json);
        }

        json.WriteEndObject();
    }

    internal sealed record SubscriberEntry(string Id, IReadOnlyList<string> Topics, JsonElement? Payload);

    internal sealed record Subscription(string Subscriber, string Topic, JsonElement? Payload, bool Active);
}
