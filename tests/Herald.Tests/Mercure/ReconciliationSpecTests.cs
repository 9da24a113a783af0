using Herald.Tests.Infrastructure;

namespace Herald.Tests.Mercure;

/// <summary>
/// Mercure 1.0, "Reconnection, State Reconciliation, and Event Sourcing" and "Authorization on Event Replay": the
/// <c>last_event_id</c> parameter, the <c>Mercure-Last-Event-ID</c> response header, and the 0.x ones beside them.
/// </summary>
[Collection(SubscriptionHubsCollection.Name)]
public sealed class ReconciliationSpecTests(SubscriptionHubs hubs)
{
    private const string MercureHeader = "Mercure-Last-Event-ID";

    [Fact]
    public async Task Reconciliation_last_event_id_replays_what_came_after_and_names_it_in_Mercure_Last_Event_ID()
    {
        await SubscriptionHubs.OnEach(hubs.All, async hub =>
        {
            var topic = hub.NewTopic("history");
            var ids = await PublishAsync(hub, topic, 4);

            await using var reader = await hub.SubscribeAsync($"match={Uri.EscapeDataString(topic)}&last_event_id={Uri.EscapeDataString(ids[1])}", topic);

            Assert.Equal(ids[1], Header(reader.Response, MercureHeader));
            Assert.Null(Header(reader.Response, "Last-Event-ID"));
            Assert.Equal(ids[2], (await reader.NextAsync())?.EventId);
            Assert.Equal(ids[3], (await reader.NextAsync())?.EventId);
            var live = await hub.PublishAsync(topic, "live");
            Assert.Equal(live, (await reader.NextAsync())?.EventId);
        });
    }

    [Fact]
    public async Task Reconciliation_the_Last_Event_ID_header_wins_over_last_event_id()
    {
        await SubscriptionHubs.OnEach(hubs.All, async hub =>
        {
            var topic = hub.NewTopic("history");
            var ids = await PublishAsync(hub, topic, 3);

            await using var reader = await hub.SubscribeAsync($"match={Uri.EscapeDataString(topic)}&last_event_id={Uri.EscapeDataString(ids[0])}", topic, lastEventId: ids[1]);

            Assert.Equal(ids[1], Header(reader.Response, MercureHeader));
            Assert.Equal(ids[2], (await reader.NextAsync())?.EventId);
        });
    }

    [Fact]
    public async Task Reconciliation_earliest_and_unknown_ids_answer_earliest()
    {
        await SubscriptionHubs.OnEach(hubs.All, async hub =>
        {
            var topic = hub.NewTopic("history");
            var ids = await PublishAsync(hub, topic, 2);

            await using (var all = await hub.SubscribeAsync($"match={Uri.EscapeDataString(topic)}&last_event_id=earliest", topic))
            {
                Assert.Equal("earliest", Header(all.Response, MercureHeader));
                Assert.Equal(ids[0], (await all.NextAsync())?.EventId);
            }

            // An unknown id replays nothing (live updates only) and never names the newest stored id.
            await using var unknown = await hub.SubscribeAsync($"match={Uri.EscapeDataString(topic)}&last_event_id=urn:uuid:unknown", topic);
            Assert.Equal("earliest", Header(unknown.Response, MercureHeader));
            var live = await hub.PublishAsync(topic, "live");
            Assert.Equal(live, (await unknown.NextAsync())?.EventId);
        });
    }

    [Fact]
    public async Task Reconciliation_no_resume_header_when_no_id_was_sent()
    {
        await SubscriptionHubs.OnEach(hubs.All, async hub =>
        {
            var topic = hub.NewTopic("plain");
            await using var reader = await hub.SubscribeAsync("match=" + Uri.EscapeDataString(topic), topic);
            Assert.Null(Header(reader.Response, MercureHeader));
            Assert.Null(Header(reader.Response, "Last-Event-ID"));
        });
    }

    [Fact]
    public async Task Reconciliation_a_0x_request_gets_the_0x_Last_Event_ID_header_and_Mercure_Last_Event_ID()
    {
        await SubscriptionHubs.OnEach(hubs.Compatible, async hub =>
        {
            var topic = hub.NewTopic("legacy");
            var ids = await PublishAsync(hub, topic, 3);

            await using var byQuery = await hub.SubscribeAsync($"topic={Uri.EscapeDataString(topic)}&lastEventID={Uri.EscapeDataString(ids[0])}", topic);
            Assert.Equal(ids[0], Header(byQuery.Response, "Last-Event-ID"));
            Assert.Equal(ids[0], Header(byQuery.Response, MercureHeader));
            Assert.Equal(ids[1], (await byQuery.NextAsync())?.EventId);

            await using var byHeader = await hub.SubscribeAsync("topic=" + Uri.EscapeDataString(topic), topic, lastEventId: ids[1]);
            Assert.Equal(ids[1], Header(byHeader.Response, "Last-Event-ID"));
            Assert.Equal(ids[2], (await byHeader.NextAsync())?.EventId);
        });
    }

    [Fact]
    public async Task Reconciliation_last_event_id_wins_over_the_0x_lastEventID()
    {
        await SubscriptionHubs.OnEach(hubs.Compatible, async hub =>
        {
            var topic = hub.NewTopic("both");
            var ids = await PublishAsync(hub, topic, 3);

            await using var reader = await hub.SubscribeAsync(
                $"topic={Uri.EscapeDataString(topic)}&lastEventID={Uri.EscapeDataString(ids[0])}&last_event_id={Uri.EscapeDataString(ids[1])}", topic);
            Assert.Equal(ids[1], Header(reader.Response, MercureHeader));
            Assert.Equal(ids[2], (await reader.NextAsync())?.EventId);
        });
    }

    [Fact]
    public async Task Reconciliation_lastEventID_means_nothing_to_a_1_0_only_hub()
    {
        await SubscriptionHubs.OnEach([hubs.V1Direct, hubs.V1Kestrel], async hub =>
        {
            var topic = hub.NewTopic("v1");
            var ids = await PublishAsync(hub, topic, 2);

            await using var reader = await hub.SubscribeAsync($"match={Uri.EscapeDataString(topic)}&lastEventID={Uri.EscapeDataString(ids[0])}", topic);
            Assert.Null(Header(reader.Response, MercureHeader));
            Assert.Null(Header(reader.Response, "Last-Event-ID"));
            var live = await hub.PublishAsync(topic, "live");
            Assert.Equal(live, (await reader.NextAsync())?.EventId);
        });
    }

    [Fact]
    public async Task Authorization_on_Event_Replay_the_id_of_a_private_update_the_subscriber_may_not_read_counts_as_unknown()
    {
        await SubscriptionHubs.OnEach(hubs.Compatible, async hub =>
        {
            var secretTopic = hub.NewTopic("secret");
            var topic = hub.NewTopic("public");
            var secretId = "order-" + Guid.NewGuid().ToString("N");
            await hub.PublishAsync(secretTopic, "secret", isPrivate: true, id: secretId);
            var after = await hub.PublishAsync(topic, "after");

            // Anonymous: a guessed id must not be confirmed, neither by the header nor by what is replayed.
            await using (var anonymous = await hub.SubscribeAsync($"match={Uri.EscapeDataString(topic)}&last_event_id={secretId}", topic))
            {
                Assert.Equal("earliest", Header(anonymous.Response, MercureHeader));
                var live = await hub.PublishAsync(topic, "live");
                Assert.Equal(live, (await anonymous.NextAsync())?.EventId);
            }

            // A token that may read it resumes from it.
            await using var allowed = await hub.SubscribeAsync($"match={Uri.EscapeDataString(topic)}&last_event_id={secretId}", topic, TestHub.SubscriberToken(secretTopic));
            Assert.Equal(secretId, Header(allowed.Response, MercureHeader));
            Assert.Equal(after, (await allowed.NextAsync())?.EventId);
        });
    }

    [Fact]
    public async Task Authorization_on_Event_Replay_private_updates_are_replayed_only_to_subscribers_allowed_to_read_them()
    {
        await SubscriptionHubs.OnEach(hubs.Compatible, async hub =>
        {
            var topic = hub.NewTopic("mixed");
            var secret = await hub.PublishAsync(topic, "secret", isPrivate: true);
            var open = await hub.PublishAsync(topic, "public");

            await using (var anonymous = await hub.SubscribeAsync($"match={Uri.EscapeDataString(topic)}&last_event_id=earliest", topic))
            {
                Assert.Equal(open, (await anonymous.NextAsync())?.EventId);
            }

            await using var allowed = await hub.SubscribeAsync($"match={Uri.EscapeDataString(topic)}&last_event_id=earliest", topic, TestHub.SubscriberToken(topic));
            Assert.Equal(secret, (await allowed.NextAsync())?.EventId);
            Assert.Equal(open, (await allowed.NextAsync())?.EventId);
        });
    }

    private static async Task<List<string>> PublishAsync(SubscriptionHub hub, string topic, int count)
    {
        var ids = new List<string>();
        for (var i = 0; i < count; i++)
        {
            ids.Add(await hub.PublishAsync(topic, "u" + i));
        }

        return ids;
    }

    private static string? Header(HttpResponseMessage response, string name)
        => response.Headers.TryGetValues(name, out var values) ? values.Single() : null;
}
