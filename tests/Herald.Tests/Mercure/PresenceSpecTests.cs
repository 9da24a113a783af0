using System.Text.Json;
using Herald.Mercure;
using Herald.Security;
using Herald.Topics;

namespace Herald.Tests.Mercure;

/// <summary>
/// Mercure 1.0 "Active Subscriptions": subscription events ("Subscription Events"), their payloads ("Payloads") and
/// subscriber ids ("Subscriber Identifier Assignment"), checked on presence itself, the plain consumer the hub's sink
/// feeds (end to end: <see cref="SubscriptionApiSpecTests"/>).
/// </summary>
public sealed class PresenceSpecTests
{
    private const string HubUrl = "https://hub.example.com/.well-known/mercure";
    private const string Subscriber = "urn:uuid:bb3de268-05b0-4c65-b44e-8f9acefc29d6";

    private static JsonElement Json(string text) => JsonDocument.Parse(text).RootElement.Clone();

    private static MercureClaims V1(params SubscribeDetail[] details) => new([], [.. details.SelectMany(d => d.Topics)], null, null)
    {
        Generation = TokenGeneration.V1,
        SubscribeDetails = details,
    };

    private static Update[] Announce(Presence presence, Presence.SubscriberEntry entry, bool active)
        => presence.OnAnnouncement(Presence.Announcement(entry, active));

    [Fact]
    public void Subscription_Events_topic_is_the_hub_path_then_subscriptions_match_type_match_subscriber_each_encoded_once()
    {
        var presence = new Presence(enabled: true);
        var entry = new Presence.SubscriberEntry(Subscriber, [
            new(Subscriber, Selector.UrlPattern("https://example.com/:selector"), null),
            new(Subscriber, Selector.Exact("https://example.com/a b%2F"), null),
        ]);

        var events = Announce(presence, entry, active: true);

        // The spec's own example, and a matcher that already holds a %: encoded once more, as a whole (%25), never decoded.
        Assert.Equal(
            "/.well-known/mercure/subscriptions/urlpattern/https%3A%2F%2Fexample.com%2F%3Aselector/urn%3Auuid%3Abb3de268-05b0-4c65-b44e-8f9acefc29d6",
            Assert.Single(events[0].Topics));
        Assert.Equal(
            "/.well-known/mercure/subscriptions/exact/https%3A%2F%2Fexample.com%2Fa%20b%252F/urn%3Auuid%3Abb3de268-05b0-4c65-b44e-8f9acefc29d6",
            Assert.Single(events[1].Topics));
    }

    [Fact]
    public void Subscription_Events_topic_starts_with_the_path_of_the_hubs_url()
    {
        var presence = new Presence(enabled: true) { HubPath = "/hub" };

        var events = Announce(presence, Presence.SubscriberEntry.Create(Subscriber, [Selector.Exact("t")]), active: true);

        Assert.Equal("/hub/subscriptions/exact/t/urn%3Auuid%3Abb3de268-05b0-4c65-b44e-8f9acefc29d6", Assert.Single(Assert.Single(events).Topics));
    }

    [Fact]
    public void Subscription_Events_are_private_plain_json_documents_sent_as_event_mercure_and_a_leave_says_active_false()
    {
        var presence = new Presence(enabled: true);
        var entry = Presence.SubscriberEntry.Create(Subscriber, [Selector.UrlPattern("https://example.com/:selector")], Json("""{"foo":"bar"}"""));

        var joined = Assert.Single(Announce(presence, entry, active: true));
        var left = Assert.Single(Announce(presence, entry, active: false));

        foreach (var (e, active) in new[] { (joined, true), (left, false) })
        {
            Assert.True(e.Private);
            Assert.Equal("mercure", e.EventType);
            // Ids name the update the event came after, so a subscriber can resume from one (PresenceResumeTests).
            Assert.True(PresenceEventId.TryParse(e.EventId!, out _), e.EventId);
            var doc = JsonDocument.Parse(e.Data!).RootElement;
            Assert.Equal(e.Topics[0], doc.GetProperty("id").GetString());
            Assert.Equal("subscription", doc.GetProperty("type").GetString());
            Assert.Equal("urlpattern", doc.GetProperty("match_type").GetString());
            Assert.Equal("https://example.com/:selector", doc.GetProperty("match").GetString());
            Assert.Equal(Subscriber, doc.GetProperty("subscriber").GetString());
            Assert.Equal(active, doc.GetProperty("active").GetBoolean());
            Assert.Equal("bar", doc.GetProperty("payload").GetProperty("foo").GetString());
            Assert.False(doc.TryGetProperty("@context", out _));
        }

        Assert.NotEqual(joined.EventId, left.EventId);
    }

    [Fact]
    public void Subscription_Events_of_0_x_subscriptions_stay_json_ld_on_the_0_x_path_without_an_event_type()
    {
        var presence = new Presence(enabled: true);
        var entry = Presence.SubscriberEntry.Create(Subscriber, [Selector.Topic("https://example.com/{id}"), Selector.Exact("https://example.com/1")]);

        var events = Announce(presence, entry, active: true);

        Assert.Equal(2, events.Length);
        Assert.Equal(Presence.SubscriptionId("https://example.com/{id}", Subscriber), Assert.Single(events[0].Topics));
        Assert.Null(events[0].EventType);
        var legacy = JsonDocument.Parse(events[0].Data!).RootElement;
        Assert.Equal("https://mercure.rocks/", legacy.GetProperty("@context").GetString());
        Assert.Equal("Subscription", legacy.GetProperty("type").GetString());
        Assert.Equal("https://example.com/{id}", legacy.GetProperty("topic").GetString());
        Assert.Equal("mercure", events[1].EventType);
    }

    [Fact]
    public void Payloads_come_from_the_first_subscribe_detail_whose_topics_match_the_subscriptions_own_matcher()
    {
        var claims = V1(
            new SubscribeDetail([Selector.Exact("https://example.com/foo")], Json("""{"custom1":1}""")),
            new SubscribeDetail([Selector.Exact("https://example.com/quiet")], null),
            new SubscribeDetail([Selector.Exact("*")], Json("""{"custom3":3}""")));
        var matcher = new TopicMatcher();

        JsonElement? For(Selector s) => SubscriptionPayload.For(claims, s, matcher, HubUrl);

        Assert.Equal(1, For(Selector.Exact("https://example.com/foo"))!.Value.GetProperty("custom1").GetInt32());

        // The subscription's matcher string is read as a topic, whatever its own type.
        Assert.Equal(1, For(Selector.UrlPattern("https://example.com/foo"))!.Value.GetProperty("custom1").GetInt32());

        // The first match wins even when it has no payload; the wildcard is the default for the rest.
        Assert.Null(For(Selector.Exact("https://example.com/quiet")));
        Assert.Equal(3, For(Selector.Exact("https://example.com/other"))!.Value.GetProperty("custom3").GetInt32());
        Assert.Null(SubscriptionPayload.For(V1(new SubscribeDetail([Selector.Exact("https://example.com/foo")], Json("{}"))), Selector.Exact("https://example.com/bar"), matcher, HubUrl));
    }

    /// <summary>Waits for the URL Pattern engine: the placeholder on main refuses every pattern.</summary>
    [Fact]
    public void Payloads_a_urlpattern_detail_matches_the_subscription_made_with_the_same_pattern()
    {
        var claims = V1(
            new SubscribeDetail([Selector.Exact("https://example.com/foo")], Json("""{"custom1":1}""")),
            new SubscribeDetail([Selector.UrlPattern("https://example.com/bar/:id")], Json("""{"custom2":2}""")));

        var payload = SubscriptionPayload.For(claims, Selector.UrlPattern("https://example.com/bar/:id"), new TopicMatcher(), HubUrl);

        Assert.Equal(2, payload!.Value.GetProperty("custom2").GetInt32());
    }

    [Fact]
    public void Payloads_of_a_0_x_token_are_its_mercure_payload_for_every_subscription_and_none_without_a_token()
    {
        var claims = MercureClaims.Legacy(null, ["*"], Json("""{"name":"ada"}"""));
        var matcher = new TopicMatcher();

        Assert.Equal("ada", SubscriptionPayload.For(claims, Selector.Topic("a"), matcher, HubUrl)!.Value.GetProperty("name").GetString());
        Assert.Equal("ada", SubscriptionPayload.For(claims, Selector.Exact("b"), matcher, HubUrl)!.Value.GetProperty("name").GetString());
        Assert.Null(SubscriptionPayload.For(null, Selector.Exact("b"), matcher, HubUrl));
    }

    [Fact]
    public void Subscriber_Identifier_Assignment_the_hub_gives_each_connection_its_own_urn_uuid_shared_by_its_subscriptions()
    {
        var presence = new Presence(enabled: true);
        var claims = MercureClaims.Legacy(null, ["*"]);
        Selector[] selectors = [Selector.Exact("https://example.com/a"), Selector.UrlPattern("https://example.com/:id")];

        // The same token on two connections (two tabs) holding the same matchers.
        var first = presence.Join(selectors, claims, new TopicMatcher(), HubUrl)!;
        var second = presence.Join(selectors, claims, new TopicMatcher(), HubUrl)!;

        Assert.StartsWith("urn:uuid:", first.Id, StringComparison.Ordinal);
        Assert.True(Guid.TryParse(first.Id["urn:uuid:".Length..], out _));
        Assert.NotEqual(first.Id, second.Id);
        Assert.All(first.Subscriptions, s => Assert.Equal(first.Id, s.Subscriber));
        Assert.Equal(4, presence.Subscriptions(legacy: false).Count());
    }

    [Fact]
    public void Subscription_a_matcher_sent_twice_on_one_connection_is_one_subscription()
    {
        var presence = new Presence(enabled: true);

        var entry = presence.Join([Selector.Exact("a"), Selector.Exact("a"), Selector.UrlPattern("a"), Selector.Topic("a")], null, new TopicMatcher(), HubUrl)!;

        Assert.Equal(3, entry.Subscriptions.Count);
    }

    [Fact]
    public void Active_Subscriptions_announcements_carry_each_subscriptions_type_and_payload_and_stay_readable_by_older_nodes()
    {
        var entry = new Presence.SubscriberEntry(Subscriber, [
            new(Subscriber, Selector.Topic("https://example.com/{id}"), Json("""{"legacy":true}""")),
            new(Subscriber, Selector.Topic("https://example.com/other"), Json("""{"legacy":true}""")),
            new(Subscriber, Selector.Topic("https://example.com/own"), Json("""{"own":1}""")),
            new(Subscriber, Selector.Exact("https://example.com/a"), Json("""{"a":1}""")),
            new(Subscriber, Selector.UrlPattern("https://example.com/:id"), null),
        ]);

        var text = Presence.Announcement(entry, active: true);

        // What a node of the previous version reads: the 0.x subscriptions sharing one payload, in the old fields.
        var json = JsonDocument.Parse(text).RootElement;
        Assert.Equal(["https://example.com/{id}", "https://example.com/other"], json.GetProperty("topics").EnumerateArray().Select(t => t.GetString()));
        Assert.True(json.GetProperty("payload").GetProperty("legacy").GetBoolean());

        // What this version reads back: every subscription with its own type and payload.
        var presence = new Presence(enabled: true);
        Announce(presence, entry, active: true);
        var listed = presence.Subscriptions().ToList();
        static string Describe(Presence.Subscription s) => $"{s.Selector.Type} {s.Match} {s.Payload?.GetRawText()}";
        Assert.Equal(entry.Subscriptions.Select(Describe).Order(), listed.Select(Describe).Order());
    }

    [Fact]
    public void Active_Subscriptions_an_announcement_from_an_older_node_is_read_as_0_x_subscriptions()
    {
        var presence = new Presence(enabled: true);

        var events = presence.OnAnnouncement($$$"""{"subscriber":"{{{Subscriber}}}","active":true,"topics":["https://example.com/a"],"payload":{"n":1}}""");

        var s = Assert.Single(presence.Subscriptions(legacy: true));
        Assert.Equal(Selector.Topic("https://example.com/a"), s.Selector);
        Assert.Equal(1, s.Payload!.Value.GetProperty("n").GetInt32());
        Assert.Equal(Presence.SubscriptionId("https://example.com/a", Subscriber), Assert.Single(Assert.Single(events).Topics));
    }

    [Fact]
    public void Active_Subscriptions_a_matcher_type_from_a_newer_node_is_skipped_and_a_malformed_announcement_dropped_whole()
    {
        var presence = new Presence(enabled: true);

        presence.OnAnnouncement($$$"""{"subscriber":"{{{Subscriber}}}","active":true,"topics":[],"matchers":[{"match_type":"regexp","match":"x"},{"match_type":"exact","match":"y"}]}""");
        Assert.Equal(Selector.Exact("y"), Assert.Single(presence.Subscriptions()).Selector);

        Assert.Empty(presence.OnAnnouncement("""{"subscriber":"urn:uuid:2","active":true,"topics":["a"],"matchers":[{"match":"x"}]}"""));
        Assert.Empty(presence.OnAnnouncement("""{"subscriber":"urn:uuid:3","active":true,"topics":["a"],"matchers":{}}"""));
        Assert.Single(presence.Subscriptions());
    }
}
