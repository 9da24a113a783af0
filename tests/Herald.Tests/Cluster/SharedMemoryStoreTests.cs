using System.Collections.Concurrent;
using Herald.Storage;
using Herald.Tests.Storage;

namespace Herald.Tests.Cluster;

/// <summary>
/// The storage specification for the shared in-memory log the cluster specification runs on, so that the stand-in
/// keeps every rule a real store keeps; and what makes it a shared log: several nodes on one log.
/// </summary>
public sealed class SharedMemoryStoreTests : UpdateStoreSpec
{
    private protected override IUpdateStore CreateStore(StoreSettings settings, IUpdateSink sink) =>
        new SharedMemoryStore(
            new SharedMemoryLog(),
            sink,
            new HeraldOptions { HistoryMaxCount = settings.HistoryMaxCount, HistoryMaxAge = settings.HistoryMaxAge },
            settings.Time);

    [Fact]
    public async Task Nodes_on_one_log_hear_every_update_and_announcement_once_in_one_order_and_share_ids()
    {
        const int PerNode = 300;
        var log = new SharedMemoryLog();
        var heard = new[] { new ConcurrentQueue<string>(), new ConcurrentQueue<string>(), new ConcurrentQueue<string>() };
        var stores = new List<IUpdateStore>();
        foreach (var queue in heard)
        {
            var sink = new TestSink { Stored = s => queue.Enqueue($"{s.Sequence}|{s.Id}"), Announced = a => queue.Enqueue(a) };
            var store = new SharedMemoryStore(log, sink, new HeraldOptions());
            await store.StartAsync(CancellationToken.None).Within();
            stores.Add(store);
        }

        try
        {
            var appending = stores.Select((store, n) => Task.Run(async () =>
            {
                for (var i = 0; i < PerNode; i++)
                {
                    await store.AppendAsync(new Update { Topics = ["https://example.com/x"], EventId = $"urn:test:{n}:{i}" }, CancellationToken.None).Within();
                    if (i % 10 == 0)
                    {
                        await store.AnnounceAsync($"announced {n}:{i}", CancellationToken.None).Within();
                    }
                }
            }));
            await Task.WhenAll(appending).Within();

            var total = (stores.Count * PerNode) + (stores.Count * PerNode / 10);
            await TestTimeouts.EventuallyAsync(() => Task.FromResult(heard.All(q => q.Count >= total)), "every node heard every entry");
            Assert.All(heard, queue => Assert.Equal(heard[0], queue));
            Assert.Equal(total, heard[0].Distinct().Count());
            Assert.All(stores, store => Assert.Equal(log.LastSequence, store.LastSequence));

            // An id stored through one node is known, and taken, on the others.
            var first = heard[0].First(e => e.EndsWith("|urn:test:0:0", StringComparison.Ordinal));
            Assert.Equal(long.Parse(first.Split('|')[0], System.Globalization.CultureInfo.InvariantCulture), await stores[2].FindSequenceAsync("urn:test:0:0", CancellationToken.None).Within());
            await Assert.ThrowsAsync<DuplicateUpdateIdException>(
                () => stores[1].AppendAsync(new Update { Topics = ["https://example.com/x"], EventId = "urn:test:0:0" }, CancellationToken.None).Within());
        }
        finally
        {
            foreach (var store in stores)
            {
                await store.DisposeAsync().Within();
            }
        }
    }

    [Fact]
    public async Task A_node_started_later_reads_earlier_updates_as_history_not_as_news()
    {
        var log = new SharedMemoryLog();
        await using var first = new SharedMemoryStore(log, new TestSink(), new HeraldOptions());
        await first.StartAsync(CancellationToken.None).Within();
        var before = await first.AppendAsync(new Update { Topics = ["https://example.com/x"] }, CancellationToken.None).Within();

        var heard = new ConcurrentQueue<long>();
        await using var late = new SharedMemoryStore(log, new TestSink { Stored = s => heard.Enqueue(s.Sequence) }, new HeraldOptions());
        await late.StartAsync(CancellationToken.None).Within();
        var after = await late.AppendAsync(new Update { Topics = ["https://example.com/x"] }, CancellationToken.None).Within();

        Assert.Equal([after.Sequence], heard);
        Assert.Equal([before.Id, after.Id], (await late.ReadAllAsync()).Select(s => s.Id));
    }
}
