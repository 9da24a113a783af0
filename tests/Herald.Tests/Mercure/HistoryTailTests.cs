using Herald.Mercure;
using Herald.Storage;
using Herald.Tests.Infrastructure;
using Herald.Tests.Redis;
using Herald.Tests.Storage;

namespace Herald.Tests.Mercure;

/// <summary>
/// Resumes served from the hub's in-memory tail of history (<see cref="HistoryTail"/>), and from the store beyond it
/// in reads shared by every resume that needs the same one: what a reconnect storm costs the store, and that every
/// subscriber still gets exactly what it missed, once, in order.
/// </summary>
public sealed class HistoryTailTests(RedisFixture redis) : IClassFixture<RedisFixture>
{
    private const string Topic = "https://example.com/tail";

    private string Store(string kind) => kind == "redis" ? $"{redis.Server.Url}?prefix=tail-{Guid.NewGuid():N}" : kind;

    private static async Task<List<string>> PublishAsync(ResumeHub hub, int count, string prefix = "u")
    {
        var ids = new List<string>();
        for (var i = 0; i < count; i++)
        {
            ids.Add(await hub.PublishAsync(Topic, prefix + i));
        }

        return ids;
    }

    /// <summary>Reads what a resume replays and one live update after it.</summary>
    private static async Task AssertResumes(ResumeHub hub, SseReader reader, IEnumerable<string> expected)
    {
        await hub.PublishAsync(Topic, "live");
        var received = await ResumeHub.ReadThroughAsync(reader, "live");
        Assert.Equal(expected, received.SkipLast(1));
    }

    /// <summary>
    /// Waits until <paramref name="count"/> subscribers are live: a replay still running when an update is published may
    /// read it from the store (stored, not yet handed to the tail), which the tests that count store calls rule out.
    /// </summary>
    private static Task AllLive(ResumeHub hub, int count) => TestHub.Eventually(
        () => hub.Hub.Dispatcher.Snapshot() is { } all && all.Count == count && all.TrueForAll(s => !s.IsCatchingUp),
        "every replay to end");

    [Theory]
    [InlineData("sqlite")]
    [InlineData("memory")]
    [InlineData("redis")]
    public async Task A_resume_from_an_id_in_the_tail_makes_no_store_call(string kind)
    {
        await using var hub = await ResumeHub.StartAsync(ResumeHub.Settings(Store(kind)));
        var ids = await PublishAsync(hub, 20);

        await using var reader = await hub.SubscribeAsync(Topic, ids[5]);
        await AllLive(hub, 1);

        await AssertResumes(hub, reader, ids.Skip(6));
        Assert.Equal(ids[5], reader.Response.Headers.GetValues("Last-Event-ID").Single());
        Assert.Equal((0, 0), (hub.Store.Finds, hub.Store.Reads));
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("redis")]
    public async Task A_resume_older_than_the_tail_reads_the_rest_from_the_store(string kind)
    {
        var settings = ResumeHub.Settings(Store(kind));
        settings["Herald:ReplayCacheSize"] = "5";
        await using var hub = await ResumeHub.StartAsync(settings);
        var ids = await PublishAsync(hub, 30);

        await using var reader = await hub.SubscribeAsync(Topic, ids[2]);

        await AssertResumes(hub, reader, ids.Skip(3));
        Assert.Equal(ids[2], reader.Response.Headers.GetValues("Last-Event-ID").Single());
        Assert.True(hub.Store.Finds == 1 && hub.Store.Reads >= 1, $"{hub.Store.Finds} lookups, {hub.Store.Reads} reads");
    }

    [Theory]
    [InlineData("5")]
    [InlineData("0")]
    public async Task With_the_tail_off_or_small_resumes_still_get_everything(string size)
    {
        var settings = ResumeHub.Settings("sqlite");
        settings["Herald:ReplayCacheSize"] = size;
        await using var hub = await ResumeHub.StartAsync(settings);
        var ids = await PublishAsync(hub, 1200);

        // Earliest reads the store in pages; a resume in the tail (when there is one) reads nothing.
        await using var earliest = await hub.SubscribeAsync(Topic, History.Earliest);
        await using var recent = await hub.SubscribeAsync(Topic, ids[1197]);

        await hub.PublishAsync(Topic, "live");
        Assert.Equal(ids, (await ResumeHub.ReadThroughAsync(earliest, "live")).SkipLast(1));
        Assert.Equal(ids.Skip(1198), (await ResumeHub.ReadThroughAsync(recent, "live")).SkipLast(1));
    }

    [Theory]
    [InlineData("20")]
    [InlineData("2")]
    public async Task An_unknown_id_or_a_private_update_the_subscriber_may_not_read_replays_nothing(string size)
    {
        var settings = ResumeHub.Settings("sqlite");
        settings["Herald:ReplayCacheSize"] = size;
        await using var hub = await ResumeHub.StartAsync(settings);
        await PublishAsync(hub, 3);
        var secret = await hub.PublishAsync(Topic, "secret", isPrivate: true);
        var after = await PublishAsync(hub, 4, "after");

        await using var unknown = await hub.SubscribeAsync(Topic, "urn:uuid:not-a-known-id");
        await using var anonymous = await hub.SubscribeAsync(Topic, secret);
        await using var allowed = await hub.SubscribeAsync(Topic, secret, TestHub.SubscriberToken(Topic));

        Assert.Equal("earliest", unknown.Response.Headers.GetValues("Mercure-Last-Event-ID").Single());
        Assert.Equal("earliest", anonymous.Response.Headers.GetValues("Mercure-Last-Event-ID").Single());
        Assert.Equal(secret, allowed.Response.Headers.GetValues("Mercure-Last-Event-ID").Single());
        await hub.PublishAsync(Topic, "live");
        Assert.Single(await ResumeHub.ReadThroughAsync(unknown, "live"));
        Assert.Single(await ResumeHub.ReadThroughAsync(anonymous, "live"));
        Assert.Equal(after, (await ResumeHub.ReadThroughAsync(allowed, "live")).SkipLast(1));
    }

    [Fact]
    public async Task An_id_retention_removed_does_not_resolve_from_the_tail()
    {
        // The memory store keeps 5: the tail (10,000 by default) must not answer for the 15 it dropped.
        var settings = ResumeHub.Settings("memory");
        settings["Herald:HistoryMaxCount"] = "5";
        await using var hub = await ResumeHub.StartAsync(settings);
        var ids = await PublishAsync(hub, 20);

        await using var trimmed = await hub.SubscribeAsync(Topic, ids[3]);
        await using var kept = await hub.SubscribeAsync(Topic, ids[16]);

        Assert.Equal("earliest", trimmed.Response.Headers.GetValues("Mercure-Last-Event-ID").Single());
        await hub.PublishAsync(Topic, "live");
        Assert.Single(await ResumeHub.ReadThroughAsync(trimmed, "live"));
        Assert.Equal(ids.Skip(17), (await ResumeHub.ReadThroughAsync(kept, "live")).SkipLast(1));
    }

    [Fact]
    public async Task The_tail_forgets_what_retention_by_age_removed()
    {
        var clock = new ManualClock();
        var options = new HeraldOptions { HistoryMaxAge = TimeSpan.FromDays(3650) };
        var tail = new HistoryTail(options, clock);
        var sink = new TestSink();
        await using var store = new MemoryUpdateStore(options, sink, clock);
        sink.Stored = stored => tail.Add(stored, MercureHub.Encode(stored.Update));
        await store.StartAsync(CancellationToken.None);
        var stored = await store.AppendAsync(new Update { Topics = [Topic], Data = "old" }, CancellationToken.None);
        Assert.NotNull(tail.Find(stored.Id, store));

        // Past the age limit on the hub's clock (and past the system clock, which the tail checks too).
        clock.Advance(DateTimeOffset.UtcNow - clock.GetUtcNow() + TimeSpan.FromDays(3651));

        Assert.Null(await store.FindSequenceAsync(stored.Id, CancellationToken.None));
        Assert.Null(tail.Find(stored.Id, store));
        Assert.Equal(0, tail.Count);
    }

    [Fact]
    public async Task After_a_restart_a_storm_of_resumes_is_served_by_one_read()
    {
        var dataDir = Path.Combine(Path.GetTempPath(), "herald-tests", Guid.NewGuid().ToString("N"));
        List<string> ids;
        await using (var before = await ResumeHub.StartAsync(ResumeHub.Settings("sqlite", dataDir)))
        {
            ids = await PublishAsync(before, 50);
        }

        await using var hub = await ResumeHub.StartAsync(ResumeHub.Settings("sqlite", dataDir));
        var readers = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => hub.SubscribeAsync(Topic, ids[30 + (i % 3)])));
        try
        {
            await AllLive(hub, readers.Length);
            await hub.PublishAsync(Topic, "live");
            for (var i = 0; i < readers.Length; i++)
            {
                Assert.Equal(ids.Skip(31 + (i % 3)), (await ResumeHub.ReadThroughAsync(readers[i], "live")).SkipLast(1));
            }

            // The warm-up: the store's newest updates, read once; the ids and the replays came from memory.
            Assert.Equal((0, 1), (hub.Store.Finds, hub.Store.Reads));
        }
        finally
        {
            foreach (var reader in readers)
            {
                await reader.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Concurrent_resumes_of_one_id_older_than_the_tail_share_one_lookup_and_one_read_per_range()
    {
        var settings = ResumeHub.Settings("sqlite");
        settings["Herald:ReplayCacheSize"] = "5";
        await using var hub = await ResumeHub.StartAsync(settings);
        var ids = await PublishAsync(hub, 30);
        const int storm = 25;

        // Every store call waits until the whole storm waits for it, then goes on: the lookup of the id, the read that
        // checks the subscriber may see it, and the read of what lies between it and the tail.
        hub.Store.Hold();
        var opening = Enumerable.Range(0, storm).Select(_ => hub.SubscribeAsync(Topic, ids[10])).ToList();
        for (var call = 0; call < 3; call++)
        {
            var calls = call + 1;
            await TestHub.Eventually(
                () => hub.Store.Finds + hub.Store.Reads == calls && hub.Store.Held == 1 && hub.Hub.HistoryReads.Waiting == storm,
                $"the storm to gather on store call {calls}");
            hub.Store.ReleaseHeld();
        }

        hub.Store.Open();
        var readers = await Task.WhenAll(opening);
        try
        {
            await AllLive(hub, storm);
            await hub.PublishAsync(Topic, "live");
            foreach (var reader in readers)
            {
                Assert.Equal(ids.Skip(11), (await ResumeHub.ReadThroughAsync(reader, "live")).SkipLast(1));
            }

            Assert.True((hub.Store.Finds, hub.Store.Reads) == (1, 2), $"{hub.Store.Finds} lookups, reads of {string.Join(", ", hub.Store.Ranges)}");
        }
        finally
        {
            foreach (var reader in readers)
            {
                await reader.DisposeAsync();
            }
        }
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("redis")]
    public async Task Resumes_racing_publishers_across_the_tail_boundary_get_no_gap_and_no_duplicate(string kind)
    {
        var settings = ResumeHub.Settings(Store(kind));
        settings["Herald:ReplayCacheSize"] = "40";
        await using var hub = await ResumeHub.StartAsync(settings);

        // Sees every update live, in the store's order, which concurrent publishers make.
        await using var witness = await hub.SubscribeAsync(Topic);
        var before = await PublishAsync(hub, 100, "before");
        var publishers = Enumerable.Range(0, 4).Select(p => Task.Run(() => PublishAsync(hub, 75, $"p{p}-"))).ToList();

        // Resumes from ids long out of the tail, at its edge and inside it, while the publishers run.
        var resumes = new List<(string From, SseReader Reader)>();
        try
        {
            foreach (var from in new[] { 5, 50, 62, 70, 85, 99 })
            {
                resumes.Add((before[from], await hub.SubscribeAsync(Topic, before[from])));
            }

            await Task.WhenAll(publishers).WaitAsync(TimeSpan.FromSeconds(60));
            await hub.PublishAsync(Topic, "end");
            var order = await ResumeHub.ReadThroughAsync(witness, "end");
            Assert.Equal(before, order.Take(100));
            foreach (var (from, reader) in resumes)
            {
                var received = await ResumeHub.ReadThroughAsync(reader, "end");
                Assert.Equal(order.Skip(before.IndexOf(from) + 1), received);
            }
        }
        finally
        {
            foreach (var (_, reader) in resumes)
            {
                await reader.DisposeAsync();
            }
        }
    }
}
