using System.Net;
using System.Net.Sockets;
using Herald.Redis;
using Herald.Storage;
using Herald.Tests.Storage;

namespace Herald.Tests.Redis;

/// <summary>What only a shared, networked store must do: several nodes on one stream, outages, bad settings.</summary>
public sealed class RedisUpdateStoreTests : IAsyncLifetime
{
    private const string Topic = "https://example.com/books/1";
    private readonly string _prefix = "store-" + Guid.NewGuid().ToString("N");
    private readonly List<IUpdateStore> _stores = [];
    private RedisServer _redis = null!;

    public async Task InitializeAsync() => _redis = await RedisServer.StartAsync(appendOnly: true);

    public async Task DisposeAsync()
    {
        foreach (var store in _stores)
        {
            await store.DisposeAsync().Within();
        }

        await _redis.DisposeAsync();
    }

    [Fact]
    public async Task Two_nodes_on_one_stream_hear_every_update_once_in_the_same_order()
    {
        var heardA = new List<StoredUpdate>();
        var heardB = new List<StoredUpdate>();
        var a = await StartNodeAsync(heardA);
        var b = await StartNodeAsync(heardB);

        var publishers = new[] { a, b }.Select((store, n) => Task.Run(async () =>
        {
            var ids = new List<string>();
            for (var i = 0; i < 200; i++)
            {
                ids.Add((await store.AppendAsync(Update($"urn:test:{n}:{i}"), CancellationToken.None).Within()).Id);
            }

            return ids;
        }));
        var acked = (await Task.WhenAll(publishers).Within()).SelectMany(ids => ids).ToHashSet();

        await TestTimeouts.EventuallyAsync(() => Task.FromResult(Count(heardA) == 400 && Count(heardB) == 400), "both nodes heard all 400");
        var orderA = Snapshot(heardA);
        var orderB = Snapshot(heardB);
        Assert.Equal(orderA.Select(s => (s.Sequence, s.Id)), orderB.Select(s => (s.Sequence, s.Id)));
        Assert.Equal(acked.Order(), orderA.Select(s => s.Id).Order());
        Assert.Equal(a.LastSequence, b.LastSequence);

        // An id published through one node names the same position on the other.
        var fromA = orderA.First(s => s.Id.StartsWith("urn:test:0:", StringComparison.Ordinal));
        Assert.Equal(fromA.Sequence, await b.FindSequenceAsync(fromA.Id, CancellationToken.None).Within());
        await Assert.ThrowsAsync<DuplicateUpdateIdException>(() => b.AppendAsync(Update(fromA.Id), CancellationToken.None).Within());
    }

    [Fact]
    public async Task A_restarted_node_continues_the_sequence_and_does_not_replay_old_updates_live()
    {
        var first = await StartNodeAsync();
        var before = new List<StoredUpdate>();
        for (var i = 0; i < 5; i++)
        {
            before.Add(await first.AppendAsync(Update(), CancellationToken.None).Within());
        }

        await first.DisposeAsync().Within();
        var heard = new List<StoredUpdate>();
        var second = await StartNodeAsync(heard);

        Assert.Equal(before[^1].Sequence, second.LastSequence);
        Assert.Equal(before.Describe(), (await second.ReadAllAsync()).Describe());
        var next = await second.AppendAsync(Update(), CancellationToken.None).Within();
        Assert.Equal(before[^1].Sequence + 1, next.Sequence);
        Assert.Equal([next.Id], Snapshot(heard).Select(s => s.Id));
    }

    [Fact]
    public async Task While_Redis_is_down_appends_fail_fast_and_afterwards_every_node_catches_up()
    {
        var heard = new List<StoredUpdate>();
        var publisher = await StartNodeAsync();
        var follower = await StartNodeAsync(heard);
        var acked = new List<string>();
        for (var i = 0; i < 10; i++)
        {
            acked.Add((await publisher.AppendAsync(Update(), CancellationToken.None).Within()).Id);
        }

        // Each append fails rather than waits for Redis to come back: as the store-unavailable kind (503 at the
        // hub), naming what failed. How fast is the transport's timeout's business, not asserted on a loaded machine.
        await _redis.KillAsync();
        for (var i = 0; i < 3; i++)
        {
            var error = await Assert.ThrowsAsync<StoreUnavailableException>(() => publisher.AppendAsync(Update(), CancellationToken.None).Within());
            Assert.StartsWith($"Redis at {_redis.Url} cannot store updates right now (", error.Message, StringComparison.Ordinal);
            Assert.DoesNotContain('\n', error.Message);
        }

        await _redis.RestartAsync();
        await TestTimeouts.EventuallyAsync(
            async () =>
            {
                try
                {
                    acked.Add((await publisher.AppendAsync(Update(), CancellationToken.None).Within()).Id);
                    return true;
                }
                catch (StoreUnavailableException)
                {
                    return false;
                }
            },
            "appends work again");
        for (var i = 0; i < 10; i++)
        {
            acked.Add((await publisher.AppendAsync(Update(), CancellationToken.None).Within()).Id);
        }

        await TestTimeouts.EventuallyAsync(() => Task.FromResult(Count(heard) >= acked.Count), "the follower heard every acknowledged update");
        Assert.Equal(acked, Snapshot(heard).Select(s => s.Id));
        Assert.Equal(acked, (await follower.ReadAllAsync()).Select(s => s.Id));
    }

    [Fact]
    public async Task Start_fails_with_one_line_naming_Redis_when_it_is_unreachable()
    {
        // A port bound but not listening: connecting is refused, and while it is held no one else can take it (a
        // port found free and released could be another test's Redis by the time the store connects).
        using var reserved = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        reserved.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var port = ((IPEndPoint)reserved.LocalEndPoint!).Port;
        var store = new RedisUpdateStore(new HeraldOptions(), RedisTransport.Parse($"redis://127.0.0.1:{port}?timeout=1s"), new TestSink());
        await using (store)
        {
            // It gives up (Within: no waiting for Redis forever) with one line saying what to do.
            var error = await Assert.ThrowsAsync<HistoryStoreException>(() => store.StartAsync(CancellationToken.None).Within());

            Assert.StartsWith($"Cannot reach Redis at redis://127.0.0.1:{port} (", error.Message, StringComparison.Ordinal);
            Assert.EndsWith("start it, or fix the Herald:Transport setting.", error.Message, StringComparison.Ordinal);
            Assert.DoesNotContain('\n', error.Message);
        }
    }

    [Fact]
    public async Task A_key_that_is_not_Heralds_stream_is_refused_at_start()
    {
        Assert.Equal("+OK", await _redis.CommandAsync($"SET {RedisUpdateStore.StreamKeyFor(_prefix)} hello"));
        var store = NewStore();
        await using (store)
        {
            var error = await Assert.ThrowsAsync<HistoryStoreException>(() => store.StartAsync(CancellationToken.None).Within());

            Assert.Contains("holds a string, not Herald's update stream", error.Message, StringComparison.Ordinal);
            Assert.Contains("prefix", error.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Entries_someone_else_added_are_skipped_without_stopping_the_reader()
    {
        var heard = new List<StoredUpdate>();
        var store = await StartNodeAsync(heard);
        var first = await store.AppendAsync(Update(), CancellationToken.None).Within();
        Assert.StartsWith("$", await _redis.CommandAsync($"XADD {RedisUpdateStore.StreamKeyFor(_prefix)} 0-* foo bar"), StringComparison.Ordinal);
        var second = await store.AppendAsync(Update(), CancellationToken.None).Within();

        Assert.Equal([first.Id, second.Id], Snapshot(heard).Select(s => s.Id));
        Assert.Equal([first.Id, second.Id], (await store.ReadAllAsync()).Select(s => s.Id));
    }

    private RedisUpdateStore NewStore(IUpdateSink? sink = null) =>
        new(new HeraldOptions { HistoryMaxCount = 0, HistoryMaxAge = TimeSpan.Zero }, RedisTransport.Parse($"{_redis.Url}?prefix={_prefix}"), sink ?? new TestSink());

    private async Task<RedisUpdateStore> StartNodeAsync(List<StoredUpdate>? heard = null)
    {
        var store = NewStore(new TestSink
        {
            Stored = stored =>
            {
                if (heard is not null)
                {
                    lock (heard)
                    {
                        heard.Add(stored);
                    }
                }
            },
        });
        _stores.Add(store);

        await store.StartAsync(CancellationToken.None).Within();
        return store;
    }

    private static Update Update(string? id = null) => new() { Topics = [Topic], EventId = id, Data = "{}" };

    private static int Count(List<StoredUpdate> heard)
    {
        lock (heard)
        {
            return heard.Count;
        }
    }

    private static List<StoredUpdate> Snapshot(List<StoredUpdate> heard)
    {
        lock (heard)
        {
            return [.. heard];
        }
    }
}
