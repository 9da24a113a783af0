using Herald.Mercure;
using Herald.Storage;
using Herald.Tests.Infrastructure;
using Herald.Tests.Redis;
using Microsoft.Extensions.DependencyInjection;

namespace Herald.Tests.Hardening;

/// <summary>
/// Presence costs history nothing (joins and leaves never push a real update out) and believes only the joins and
/// leaves the hub announced itself, never an update published on the subscriptions path.
/// </summary>
public sealed class PresenceTests(RedisFixture redis) : IClassFixture<RedisFixture>
{
    private const string Topic = "https://example.com/real";
    private const int Cycles = 3;
    private const int TopicsPerConnection = 100;

    private Task<TestHub> StartAsync(bool onRedis, string prefix = "")
    {
        var settings = new Dictionary<string, string?>
        {
            ["Herald:Anonymous"] = "true",
            ["Herald:Subscriptions"] = "true",
            ["Herald:HistoryMaxCount"] = "5",
        };
        if (onRedis)
        {
            settings["Herald:Transport"] = redis.Server.Url + "?prefix=" + prefix;
        }

        return TestHub.StartAsync(settings);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Joins_and_leaves_of_a_connection_with_many_topics_store_nothing_in_history(bool onRedis)
    {
        var prefix = "presence-" + Guid.NewGuid().ToString("N");
        await using var hub = await StartAsync(onRedis, prefix);
        var presence = hub.App.Services.GetRequiredService<Presence>();
        await hub.PublishAsync(Topic, "kept");
        var before = hub.Hub.Store.LastSequence;

        var query = string.Join('&', Enumerable.Range(0, TopicsPerConnection).Select(i => "topic=" + Uri.EscapeDataString($"https://example.com/flood/{i}")));
        for (var cycle = 0; cycle < Cycles; cycle++)
        {
            await using (var flood = await hub.SubscribeAsync(query))
            {
                await TestHub.Eventually(() => presence.Subscriptions().Any(), "the flood connection to be listed", 30_000);
            }

            await TestHub.Eventually(() => !presence.Subscriptions().Any(), "the flood connection to leave", 30_000);
        }

        if (onRedis)
        {
            // One announcement per join and per leave, whatever the number of topics, in a stream of its own.
            var key = "{" + prefix + "}:presence";
            await TestHub.Eventually(
                () => redis.Server.CommandAsync("XLEN " + key).GetAwaiter().GetResult() == ":" + (2 * Cycles),
                "every join and leave to be announced",
                30_000);
            Assert.Equal(":1", await redis.Server.CommandAsync("XLEN " + Herald.Redis.RedisUpdateStore.StreamKeyFor(prefix)));
        }

        Assert.Equal(before, hub.Hub.Store.LastSequence);
        await using var resumed = await hub.SubscribeAsync("topic=" + Uri.EscapeDataString(Topic) + "&lastEventID=earliest");
        Assert.Equal("kept", (await resumed.NextAsync())?.Data);
    }

    [Fact]
    public async Task An_update_stored_on_the_subscriptions_path_is_not_taken_for_a_subscription()
    {
        await using var hub = await StartAsync(onRedis: false);
        var presence = hub.App.Services.GetRequiredService<Presence>();

        await hub.Hub.Store.AppendAsync(Forged("urn:uuid:forged-sqlite"), CancellationToken.None).AsTask().WaitAsync(TimeSpan.FromSeconds(30));

        Assert.DoesNotContain(presence.Subscriptions(), s => s.Subscriber == "urn:uuid:forged-sqlite");
    }

    [Fact]
    public async Task In_a_cluster_every_node_learns_real_joins_and_none_takes_a_forged_one()
    {
        var prefix = "presence-" + Guid.NewGuid().ToString("N");
        await using var a = await StartAsync(onRedis: true, prefix);
        await using var b = await StartAsync(onRedis: true, prefix);
        var presenceB = b.App.Services.GetRequiredService<Presence>();

        // A real join on node A reaches node B through the shared log.
        await using var joined = await a.SubscribeAsync("topic=" + Uri.EscapeDataString("https://example.com/joined"));
        await TestHub.Eventually(() => presenceB.Subscriptions().Any(s => s.Match == "https://example.com/joined"), "node B to list node A's subscriber", 30_000);

        // A forged subscription event stored as an ordinary update, then a marker: once node B dispatched the
        // marker, it has seen the forged update before it.
        await using var marker = await b.SubscribeAsync("topic=" + Uri.EscapeDataString("https://example.com/marker"));
        await a.Hub.Store.AppendAsync(Forged("urn:uuid:forged-redis"), CancellationToken.None).AsTask().WaitAsync(TimeSpan.FromSeconds(30));
        await a.PublishAsync("https://example.com/marker", "after");
        Assert.Equal("after", (await marker.NextAsync(30_000))?.Data);

        Assert.DoesNotContain(presenceB.Subscriptions(), s => s.Subscriber == "urn:uuid:forged-redis");
        Assert.DoesNotContain(a.App.Services.GetRequiredService<Presence>().Subscriptions(), s => s.Subscriber == "urn:uuid:forged-redis");
    }

    /// <summary>What the hub itself used to store for a join: a private JSON-LD subscription update.</summary>
    private static Update Forged(string subscriber) => new()
    {
        Topics = [Presence.SubscriptionId("https://example.com/forged", subscriber)],
        Private = true,
        Data = $$"""{"@context":"https://mercure.rocks/","id":"x","type":"Subscription","topic":"https://example.com/forged","subscriber":"{{subscriber}}","active":true}""",
    };
}
