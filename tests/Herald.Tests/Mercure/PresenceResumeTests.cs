using Herald.Mercure;
using Herald.Tests.Infrastructure;
using Herald.Tests.Redis;

namespace Herald.Tests.Mercure;

/// <summary>
/// A subscriber whose last event was a subscription event (presence: never stored in history) resumes from it without
/// losing what was published while it was away and without getting twice what it had: the event's id names the update
/// it came after (<see cref="PresenceEventId"/>). On SQLite and on Redis.
/// </summary>
public sealed class PresenceResumeTests(RedisFixture redis) : IClassFixture<RedisFixture>
{
    private const string Room = "https://example.com/room/1";
    private const string Events = "/.well-known/mercure/subscriptions{/topic}{/subscriber}";

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Resuming_from_a_subscription_event_replays_exactly_what_came_after_it(bool onRedis)
    {
        var settings = new Dictionary<string, string?> { ["Herald:Subscriptions"] = "true" };
        if (onRedis)
        {
            settings["Herald:Transport"] = redis.Server.Url + "?prefix=presence-resume-" + Guid.NewGuid().ToString("N");
        }

        await using var hub = await TestHub.StartAsync(settings);
        var token = TestHub.SubscriberToken(Room, Events);
        var query = "topic=" + Uri.EscapeDataString(Room) + "&topic=" + Uri.EscapeDataString(Events);
        await hub.PublishAsync(Room, "before");

        // SQLite hands an update to the fan-out right after acknowledging it; the subscription events below name the
        // newest update fanned out, so let "before" be that first.
        await TestHub.Eventually(() => hub.Hub.Metrics.Published == 1, "\"before\" fanned out");
        var lastId = "";
        await using (var observer = await hub.SubscribeAsync(query, token, lastEventId: "earliest"))
        {
            Assert.Equal("before", (await observer.NextAsync())?.Data);

            // Another subscriber joins: the observer's last events are subscription events (its own two subscriptions',
            // then the joiner's), never stored in history.
            await using var joiner = await hub.SubscribeAsync("topic=" + Uri.EscapeDataString(Room), TestHub.SubscriberToken(Room));
            for (var i = 0; i < 3; i++)
            {
                var next = (await observer.NextAsync())!.Value;
                Assert.Contains("\"type\":\"Subscription\"", next.Data, StringComparison.Ordinal);
                lastId = next.EventId ?? "";
            }
        }

        Assert.True(PresenceEventId.TryParse(lastId, out _), lastId);
        await hub.PublishAsync(Room, "while away 1");
        await hub.PublishAsync(Room, "while away 2");

        await using var resumed = await hub.SubscribeAsync("topic=" + Uri.EscapeDataString(Room), TestHub.SubscriberToken(Room), lastEventId: lastId);
        Assert.Equal("while away 1", (await resumed.NextAsync())?.Data);
        Assert.Equal("while away 2", (await resumed.NextAsync())?.Data);
        await hub.PublishAsync(Room, "live");
        Assert.Equal("live", (await resumed.NextAsync())?.Data);
    }

    [Fact]
    public async Task After_a_restart_subscription_events_come_after_the_history_kept_and_resuming_from_one_replays_nothing_twice()
    {
        var dataDir = Path.Combine(Path.GetTempPath(), "herald-tests", Guid.NewGuid().ToString("N"));
        var settings = new Dictionary<string, string?> { ["Herald:Subscriptions"] = "true", ["Herald:DataDir"] = dataDir };
        try
        {
            await using (var first = await TestHub.StartAsync(settings))
            {
                await first.PublishAsync(Room, "one");
                await first.PublishAsync(Room, "two");
            }

            await using var hub = await TestHub.StartAsync(settings);
            var token = TestHub.SubscriberToken(Room, Events);
            var lastId = "";
            await using (var observer = await hub.SubscribeAsync("topic=" + Uri.EscapeDataString(Events), token))
            {
                await using var joiner = await hub.SubscribeAsync("topic=" + Uri.EscapeDataString(Room), TestHub.SubscriberToken(Room));
                for (var i = 0; i < 2; i++)
                {
                    lastId = (await observer.NextAsync())?.EventId ?? "";
                }
            }

            // Not "before everything": the two updates kept across the restart were there before these events.
            Assert.True(PresenceEventId.TryParse(lastId, out var after), lastId);
            Assert.Equal(hub.Hub.Store.LastSequence, after);

            await hub.PublishAsync(Room, "three");
            await using var resumed = await hub.SubscribeAsync("topic=" + Uri.EscapeDataString(Room), token, lastEventId: lastId);
            Assert.Equal("three", (await resumed.NextAsync())?.Data);
        }
        finally
        {
            Directory.Delete(dataDir, recursive: true);
        }
    }

    [Fact]
    public void A_subscription_event_id_is_unique_and_names_a_position_only_in_its_own_form()
    {
        var a = PresenceEventId.New(42);
        var b = PresenceEventId.New(42);
        Assert.NotEqual(a, b);
        Assert.True(PresenceEventId.TryParse(a, out var after));
        Assert.Equal(42, after);
        Assert.False(PresenceEventId.TryParse("urn:uuid:" + Guid.NewGuid(), out _));
        Assert.False(PresenceEventId.TryParse("urn:herald:presence:-1:x", out _));
        Assert.False(PresenceEventId.TryParse("urn:herald:presence::x", out _));
        Assert.False(PresenceEventId.TryParse("urn:herald:presence:99999999999999999999999:x", out _));
    }
}
