using System.Collections.Concurrent;
using System.Text.Json;
using Herald.Security;
using Herald.Storage;
using Herald.Topics;

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
/// the spec's one update per subscription for its own subscribers: what a join costs is one store entry (none on a
/// single node) and a dispatch linear in the matchers the client sent, which <see cref="HeraldOptions.MaxTopicsPerSubscription"/> bounds.
/// </para>
/// <para>
/// Each subscription speaks the generation it was made in: a Mercure 0.x one (<c>topic=</c>) is announced as JSON-LD on
/// <c>/.well-known/mercure/subscriptions/{topic}/{subscriber}</c> (<see cref="LegacySubscriptionDocument"/>), a 1.0 one
/// (<c>match=</c>, <c>match_urlpattern=</c>) as plain JSON on <c>{hub path}/subscriptions/{match_type}/{match}/{subscriber}</c>
/// with the SSE event type <c>mercure</c> (<see cref="SubscriptionDocument"/>).
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
    /// <summary>Where Mercure 0.x subscription events live (the 0.x text names this path whatever the hub's).</summary>
    public const string SubscriptionsPath = "/.well-known/mercure/subscriptions";

    private readonly ConcurrentDictionary<string, SubscriberEntry> _subscribers = new(StringComparer.Ordinal);

    // A fresh node's collection must not share an ETag with another node's or an earlier run's: start from a new id.
    private string _lastEventId = Update.NewId();
    private volatile bool _dispatched;

    /// <param name="enabled">Whether the hub publishes subscription events (<see cref="HeraldOptions.Subscriptions"/>).</param>
    public Presence(bool enabled) => Enabled = enabled;

    public bool Enabled { get; }

    /// <summary>The path the hub is mapped at: Mercure 1.0 subscription topics start with it. Set by <c>MapHerald</c>.</summary>
    public string HubPath { get; set; } = "/.well-known/mercure";

    /// <summary>The id of the last subscription event: the collections' version (their ETag).</summary>
    public string LastEventId => Volatile.Read(ref _lastEventId);

    /// <summary>
    /// The reconciliation cursor of the 1.0 subscription API (the <c>last-event-id</c> of its <c>Link</c>): the id of the
    /// last subscription event this node dispatched, or <c>earliest</c> before the first (Mercure 1.0, "Subscription API").
    /// </summary>
    public string Cursor => _dispatched ? LastEventId : History.Earliest;

    /// <summary>
    /// Registers a subscriber holding <paramref name="selectors"/>; <c>null</c> when presence is off. Each subscription
    /// gets its payload from <paramref name="claims"/> (<see cref="SubscriptionPayload"/>); a selector sent twice is one
    /// subscription (Mercure 1.0, "Subscription": hubs may deduplicate), so no two share an id. The id is the hub's own
    /// (Mercure 1.0, "Subscriber Identifier Assignment"): nothing the client sends goes into it. The hub announces the entry.
    /// </summary>
    public SubscriberEntry? Join(IReadOnlyList<Selector> selectors, MercureClaims? claims, TopicMatcher matcher, string hubUrl)
    {
        if (!Enabled)
        {
            return null;
        }

        var id = Update.NewId();
        var seen = new HashSet<Selector>(selectors.Count);
        var subscriptions = new List<Subscription>(selectors.Count);
        foreach (var selector in selectors)
        {
            if (seen.Add(selector))
            {
                subscriptions.Add(new Subscription(id, selector, SubscriptionPayload.For(claims, selector, matcher, hubUrl)));
            }
        }

        var entry = new SubscriberEntry(id, subscriptions);
        _subscribers[entry.Id] = entry;
        return entry;
    }

    /// <summary>Removes <paramref name="entry"/>; <c>true</c> when it was registered, and so its leave is to be announced.</summary>
    public bool Leave(SubscriberEntry? entry) => entry is not null && _subscribers.TryRemove(entry.Id, out _);

    /// <summary>
    /// The active subscriptions of one generation (<paramref name="legacy"/>: 0.x ones, else 1.0 ones), or of both when
    /// it is <c>null</c>; optionally only those of one matcher (<paramref name="type"/> and <paramref name="match"/>) and
    /// one subscriber.
    /// </summary>
    public IEnumerable<Subscription> Subscriptions(bool? legacy = null, MatcherType? type = null, string? match = null, string? subscriberId = null)
    {
        foreach (var entry in _subscribers.Values)
        {
            if (subscriberId is not null && entry.Id != subscriberId)
            {
                continue;
            }

            foreach (var subscription in entry.Subscriptions)
            {
                if ((legacy is null || subscription.IsLegacy == legacy)
                    && (type is null || subscription.Selector.Type == type)
                    && (match is null || subscription.Match == match))
                {
                    yield return subscription;
                }
            }
        }
    }

    /// <summary>
    /// Applies a join or leave announced by any node (this one included) and returns its subscription events, one per
    /// subscription, for the hub to deliver to this node's subscribers. Announcements come in one order everywhere, so
    /// the registries converge; this node's own find their subscriber already registered (or removed) and change nothing.
    /// </summary>
    /// <param name="announcement">The join or leave, as <see cref="Announcement"/> wrote it.</param>
    /// <param name="afterSequence">
    /// The newest update this node dispatched before these events, and none after them yet: their ids name it
    /// (<see cref="PresenceEventId"/>), so a subscriber resuming from one misses nothing and gets nothing twice.
    /// </param>
    public Update[] OnAnnouncement(string announcement, long afterSequence = 0)
    {
        if (!Enabled || !PresenceAnnouncement.TryRead(announcement, out var entry, out var active))
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

        var events = new Update[entry.Subscriptions.Count];
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        for (var i = 0; i < events.Length; i++)
        {
            var subscription = entry.Subscriptions[i] with { Active = active };
            buffer.ResetWrittenCount();
            using (var json = new Utf8JsonWriter(buffer))
            {
                if (subscription.IsLegacy)
                {
                    LegacySubscriptionDocument.Write(json, subscription, withContext: true);
                }
                else
                {
                    SubscriptionDocument.Write(json, subscription, HubPath);
                }
            }

            var id = PresenceEventId.New(afterSequence);
            events[i] = new Update
            {
                Topics = [subscription.IsLegacy ? SubscriptionId(subscription.Match, entry.Id) : SubscriptionDocument.Topic(HubPath, subscription)],
                Data = System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan),
                Private = true,
                EventId = id,

                // Mercure 1.0 routes hub events on their SSE type; 0.x subscribers get theirs as plain messages, as before.
                EventType = subscription.IsLegacy ? null : SubscriptionDocument.EventType,
            };
            Volatile.Write(ref _lastEventId, id);
            _dispatched = true;
        }

        return events;
    }

    /// <summary>The announcement of <paramref name="entry"/> joining (<paramref name="active"/>) or leaving, as <see cref="OnAnnouncement"/> reads it.</summary>
    public static string Announcement(SubscriberEntry entry, bool active) => PresenceAnnouncement.Write(entry, active);

    /// <summary>The topic (and document id) of a Mercure 0.x subscription event.</summary>
    public static string SubscriptionId(string topic, string subscriber)
        => $"{SubscriptionsPath}/{Uri.EscapeDataString(topic)}/{Uri.EscapeDataString(subscriber)}";

    /// <summary>One connection's subscriptions, under the id the hub gave it.</summary>
    internal sealed record SubscriberEntry(string Id, IReadOnlyList<Subscription> Subscriptions)
    {
        /// <summary>An entry whose subscriptions all carry <paramref name="payload"/>.</summary>
        public static SubscriberEntry Create(string id, IEnumerable<Selector> selectors, JsonElement? payload = null)
            => new(id, [.. selectors.Select(s => new Subscription(id, s, payload))]);
    }

    /// <summary>One subscription: a subscriber's selector (0.x topic selector or 1.0 matcher) and its payload.</summary>
    internal sealed record Subscription(string Subscriber, Selector Selector, JsonElement? Payload, bool Active = true)
    {
        /// <summary>The selector's text: the 0.x <c>topic</c>, the 1.0 <c>match</c>.</summary>
        public string Match => Selector.Value;

        /// <summary>Whether it is a Mercure 0.x subscription (<c>topic=</c>), described in JSON-LD.</summary>
        public bool IsLegacy => Selector.Type == MatcherType.Topic;

        /// <summary>The members both generations' documents end with: <c>subscriber</c>, <c>active</c>, <c>payload</c> (when there is one).</summary>
        public void WriteState(Utf8JsonWriter json)
        {
            json.WriteString("subscriber", Subscriber);
            json.WriteBoolean("active", Active);
            if (Payload is { } payload)
            {
                json.WritePropertyName("payload");
                payload.WriteTo(json);
            }
        }
    }
}
