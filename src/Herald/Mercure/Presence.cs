using System.Collections.Concurrent;
using System.Text.Json;
using Herald.Dispatch;
using Herald.Storage;
using Microsoft.Extensions.Logging;

namespace Herald.Mercure;

/// <summary>
/// Who is subscribed to what: publishes a private subscription update when a subscriber joins or leaves
/// (Mercure "active subscriptions") and answers the subscriptions API from the same registry.
/// </summary>
/// <remarks>
/// The registry also learns from the subscription updates the store hands back, so in a cluster (one shared
/// store) every node lists the subscribers of every node. It knows what happened since this node started, and a
/// node killed without shutdown leaves its subscribers listed until the other nodes restart.
/// </remarks>
internal sealed class Presence
{
    public const string SubscriptionsPath = "/.well-known/mercure/subscriptions";
    private const string Context = "https://mercure.rocks/";

    private readonly ConcurrentDictionary<string, SubscriberEntry> _subscribers = new(StringComparer.Ordinal);
    private readonly MercureHub hub;
    private readonly ILogger<Presence> logger;
    private string _lastEventId = MercureHub.NewId();

    public Presence(MercureHub hub, ILogger<Presence> logger)
    {
        this.hub = hub;
        this.logger = logger;
        hub.Observer = Observe;
    }

    public bool Enabled => hub.Options.Subscriptions;

    /// <summary>The id of the last subscription event: the collection's version (its ETag).</summary>
    public string LastEventId => Volatile.Read(ref _lastEventId);

    public SubscriberEntry? Join(TopicSubscriber subscriber, JsonElement? payload)
    {
        if (!Enabled)
        {
            return null;
        }

        var entry = new SubscriberEntry(MercureHub.NewId(), subscriber.Selectors, payload);
        _subscribers[entry.Id] = entry;
        Announce(entry, active: true);
        return entry;
    }

    public void Leave(SubscriberEntry? entry)
    {
        if (entry is null || !_subscribers.TryRemove(entry.Id, out _))
        {
            return;
        }

        Announce(entry, active: false);
    }

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
    /// Applies a subscription update from the store, wherever it was published. Updates come in store order and
    /// each names one topic of one subscriber, so applying them one by one converges on every node; this node's
    /// own updates find their subscriber already registered and change nothing.
    /// </summary>
    private void Observe(StoredUpdate stored)
    {
        var update = stored.Update;
        if (!Enabled || !update.Private || update.Topics.Count != 1 || update.Data is null
            || !update.Topics[0].StartsWith(SubscriptionsPath + "/", StringComparison.Ordinal))
        {
            return;
        }

        string? subscriber, topic;
        bool active;
        JsonElement? payload = null;
        try
        {
            using var json = JsonDocument.Parse(update.Data);
            var root = json.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String || type.GetString() != "Subscription"
                || !root.TryGetProperty("subscriber", out var s) || s.ValueKind != JsonValueKind.String
                || !root.TryGetProperty("topic", out var t) || t.ValueKind != JsonValueKind.String
                || !root.TryGetProperty("active", out var a) || a.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
            {
                return;
            }

            (subscriber, topic, active) = (s.GetString()!, t.GetString()!, a.GetBoolean());
            if (root.TryGetProperty("payload", out var p))
            {
                payload = p.Clone();
            }
        }
        catch (JsonException)
        {
            return;
        }

        Volatile.Write(ref _lastEventId, stored.Id);
        if (active)
        {
            _subscribers.AddOrUpdate(
                subscriber,
                static (id, arg) => new SubscriberEntry(id, [arg.topic], arg.payload),
                static (_, entry, arg) => entry.Topics.Contains(arg.topic) ? entry : entry with { Topics = [.. entry.Topics, arg.topic] },
                (topic, payload));
        }
        else if (_subscribers.TryGetValue(subscriber, out var entry) && entry.Topics.Contains(topic))
        {
            if (entry.Topics.Count == 1)
            {
                _subscribers.TryRemove(KeyValuePair.Create(subscriber, entry));
            }
            else
            {
                _subscribers.TryUpdate(subscriber, entry with { Topics = [.. entry.Topics.Where(x => x != topic)] }, entry);
            }
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

    private void Announce(SubscriberEntry entry, bool active)
    {
        foreach (var topic in entry.Topics)
        {
            var subscription = new Subscription(entry.Id, topic, entry.Payload, active);
            var buffer = new System.Buffers.ArrayBufferWriter<byte>();
            using (var json = new Utf8JsonWriter(buffer))
            {
                WriteSubscription(json, subscription, withContext: true);
            }

            var update = new Update
            {
                Topics = [SubscriptionId(topic, entry.Id)],
                Data = System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan),
                Private = true,
                Id = MercureHub.NewId(),
            };
            Volatile.Write(ref _lastEventId, update.Id);
            _ = PublishAsync(update);
        }
    }

    private async Task PublishAsync(Update update)
    {
        try
        {
            await hub.PublishOwnAsync(update).ConfigureAwait(false);
        }
        catch (Exception e) when (e is Storage.StoreUnavailableException or ObjectDisposedException or OperationCanceledException)
        {
            // Presence is best effort: a subscription event lost while the store is down is not worth failing a stream for.
            logger.LogWarning("Subscription event {Id} not published: {Reason}", update.Id, e.Message);
        }
    }

    internal sealed record SubscriberEntry(string Id, IReadOnlyList<string> Topics, JsonElement? Payload);

    internal sealed record Subscription(string Subscriber, string Topic, JsonElement? Payload, bool Active);
}
