using System.Net;
using System.Net.Sockets;
using Herald.Redis;
using Herald.Storage;
using Herald.Tests.Infrastructure;
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
        acked.Add((await AppendOnceBackAsync(publisher)).Id);
        for (var i = 0; i < 10; i++)
        {
            acked.Add((await publisher.AppendAsync(Update(), CancellationToken.None).Within()).Id);
        }

        await TestTimeouts.EventuallyAsync(() => Task.FromResult(Count(heard) >= acked.Count), "the follower heard every acknowledged update");
        Assert.Equal(acked, Snapshot(heard).Select(s => s.Id));
        Assert.Equal(acked, (await follower.ReadAllAsync()).Select(s => s.Id));
    }

    [Fact]
    public async Task After_Redis_loses_the_streams_tail_no_sequence_is_reused_and_every_later_update_reaches_every_node()
    {
        var (logs, a, heardA, b, heardB, before) = await TwoNodesAfterAsync(4);

        // What a crash does with appendfsync everysec on a busy disk, deterministically: Redis stops writing its
        // append-only file, acknowledges 4 more updates (both nodes read them), dies and comes back without them.
        Assert.Equal("+OK", await _redis.CommandAsync("CONFIG SET appendonly no"));
        for (var i = 0; i < 4; i++)
        {
            before.Add(await (i % 2 == 0 ? a : b).AppendAsync(Update(), CancellationToken.None).Within());
        }

        await TestTimeouts.EventuallyAsync(() => Task.FromResult(Count(heardA) == 8 && Count(heardB) == 8), "both nodes read all 8");
        var known = before[^1].Sequence;
        await _redis.KillAsync();
        await _redis.RestartAsync();
        Assert.Equal(":" + before[3].Sequence.ToString(System.Globalization.CultureInfo.InvariantCulture), await _redis.CommandAsync($"XLEN {RedisUpdateStore.StreamKeyFor(_prefix)}"));

        // A node that starts now knows only what Redis kept. It appends once a reader has noticed the loss, which is
        // when the stream's numbering jumped past what the nodes had read.
        await TestTimeouts.EventuallyAsync(() => Task.FromResult(logs.Entries.Any(e => e.Message.Contains($"had read up to sequence {known}", StringComparison.Ordinal))), "a node reported the loss");
        var heardC = new List<StoredUpdate>();
        var nodes = new[] { a, b, await StartNodeAsync(heardC, logs) };
        var after = new List<StoredUpdate>();
        for (var i = 0; i < 9; i++)
        {
            after.Add(await AppendOnceBackAsync(nodes[i % 3]));
        }

        // One publisher: acknowledgement order is numbering order. Every number is new, whatever Redis forgot.
        Assert.True(after[0].Sequence > known, $"first sequence after the loss is {after[0].Sequence}, not after {known}");
        Assert.Equal(after.Select(s => s.Sequence).Order(), after.Select(s => s.Sequence));
        Assert.Equal(after.Count, after.Select(s => s.Sequence).Distinct().Count());

        // Every node hears every update acknowledged after the loss, in that order, and so does a resuming reader.
        var ids = after.Select(s => s.Id).ToList();
        await TestTimeouts.EventuallyAsync(() => Task.FromResult(Count(heardA) >= 8 + ids.Count && Count(heardB) >= 8 + ids.Count && Count(heardC) >= ids.Count), "every node heard every update acknowledged after the loss");
        Assert.Equal(ids, Snapshot(heardA).Skip(8).Select(s => s.Id));
        Assert.Equal(ids, Snapshot(heardB).Skip(8).Select(s => s.Id));
        Assert.Equal(ids, Snapshot(heardC).Select(s => s.Id));
        foreach (var node in nodes)
        {
            Assert.Equal(ids, (await node.ReadAllAsync(known)).Select(s => s.Id));
            Assert.Equal(ids.Skip(1), (await node.ReadAllAsync((await node.FindSequenceAsync(ids[0], CancellationToken.None).Within())!.Value)).Select(s => s.Id));

            // What Redis lost is gone from history: its ids no longer resume anything.
            Assert.Null(await node.FindSequenceAsync(before[^1].Id, CancellationToken.None).Within());
        }

        Assert.DoesNotContain(logs.Entries, e => e.Message.Contains("numbered new updates", StringComparison.Ordinal));
        Assert.Equal(2, logs.Entries.Count(e => e.Message.Contains("numbering went on from sequence", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task An_append_that_finds_the_stream_behind_what_its_node_read_numbers_past_it_and_every_node_follows()
    {
        var (logs, a, heardA, b, heardB, before) = await TwoNodesAfterAsync(6);

        await TestTimeouts.EventuallyAsync(() => Task.FromResult(Count(heardA) == 6 && Count(heardB) == 6), "both nodes read all 6");

        // Redis loses the stream with no outage the readers would notice (as a restart without persistence does
        // between two reads): only the appending node can tell, from what it read.
        Assert.Equal(":1", await _redis.CommandAsync($"DEL {RedisUpdateStore.StreamKeyFor(_prefix)}"));
        var after = new List<StoredUpdate>();
        for (var i = 0; i < 6; i++)
        {
            after.Add(await (i % 2 == 0 ? a : b).AppendAsync(Update(), CancellationToken.None).Within());
        }

        Assert.True(after[0].Sequence > before[^1].Sequence, $"first sequence after the loss is {after[0].Sequence}, not after {before[^1].Sequence}");
        Assert.Equal(after.Select(s => s.Sequence).Order(), after.Select(s => s.Sequence));
        var ids = after.Select(s => s.Id).ToList();
        await TestTimeouts.EventuallyAsync(() => Task.FromResult(Count(heardA) >= 12 && Count(heardB) >= 12), "both nodes heard every update acknowledged after the loss");
        Assert.Equal(ids, Snapshot(heardA).Skip(6).Select(s => s.Id));
        Assert.Equal(ids, Snapshot(heardB).Skip(6).Select(s => s.Id));
        Assert.Equal(ids, (await a.ReadAllAsync(before[^1].Sequence)).Select(s => s.Id));
        Assert.Equal(2, logs.Entries.Count(e => e.Message.Contains("numbering went on from sequence", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task A_reader_back_from_an_outage_reports_updates_numbered_below_what_it_had_read()
    {
        var logs = new CapturingLoggerProvider();
        var heard = new List<StoredUpdate>();
        var node = await StartNodeAsync(heard, logs);
        for (var i = 0; i < 3; i++)
        {
            await node.AppendAsync(Update(), CancellationToken.None).Within();
        }

        // What a node that knew less leaves behind if it appends after Redis lost the tail and before this one is
        // back: another update at the sequence this node read last. This node cannot deliver it (it would go back);
        // it must not pass over it in silence.
        var key = RedisUpdateStore.StreamKeyFor(_prefix);
        Assert.Equal(":1", await _redis.CommandAsync($"DEL {key}"));
        Assert.Equal("$3", await _redis.CommandAsync($"XADD {key} 0-3 i urn:test:elsewhere"));
        await _redis.KillAsync();
        await _redis.RestartAsync();

        await TestTimeouts.EventuallyAsync(
            () => Task.FromResult(logs.Entries.Any(e => e.Level == Microsoft.Extensions.Logging.LogLevel.Error && e.Message.Contains("numbered new updates from there", StringComparison.Ordinal))),
            "the reader reported the renumbered updates");
        var next = await node.AppendAsync(Update(), CancellationToken.None).Within();
        Assert.Equal(4, next.Sequence);
        await TestTimeouts.EventuallyAsync(() => Task.FromResult(Snapshot(heard).Any(s => s.Id == next.Id)), "the node heard the next update");
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

    [Fact]
    public async Task A_node_cut_off_from_Redis_and_back_delivers_every_update_once_and_numbers_after_what_others_stored_meanwhile()
    {
        // Node A reaches Redis through a link of its own that the test cuts; Redis and node B carry on.
        await using var link = new LoopbackForwarder(_redis.Port);
        var heardA = new List<StoredUpdate>();
        var heardB = new List<StoredUpdate>();
        var a = await StartNodeAsync(heardA, url: $"redis://127.0.0.1:{link.Port}");
        var b = await StartNodeAsync(heardB);
        var acked = new List<StoredUpdate>();
        for (var i = 0; i < 6; i++)
        {
            acked.Add(await (i % 2 == 0 ? a : b).AppendAsync(Update(), CancellationToken.None).Within());
        }

        link.ForwardTo(0);
        link.Sever();
        await Assert.ThrowsAsync<StoreUnavailableException>(() => a.AppendAsync(Update(), CancellationToken.None).Within());
        for (var i = 0; i < 10; i++)
        {
            acked.Add(await b.AppendAsync(Update(), CancellationToken.None).Within());
        }

        link.ForwardTo(_redis.Port);
        acked.Add(await AppendOnceBackAsync(a));
        for (var i = 0; i < 6; i++)
        {
            acked.Add(await (i % 2 == 0 ? a : b).AppendAsync(Update(), CancellationToken.None).Within());
        }

        // One numbering for both: A's appends after its return come after everything B stored while A was away.
        Assert.Equal(acked.Select(s => s.Sequence).Order(), acked.Select(s => s.Sequence));
        Assert.Equal(acked.Count, acked.Select(s => s.Sequence).Distinct().Count());
        await TestTimeouts.EventuallyAsync(() => Task.FromResult(Count(heardA) >= acked.Count && Count(heardB) >= acked.Count), "both nodes heard every update");
        Assert.Equal(acked.Select(s => (s.Sequence, s.Id)), Snapshot(heardA).Select(s => (s.Sequence, s.Id)));
        Assert.Equal(acked.Select(s => (s.Sequence, s.Id)), Snapshot(heardB).Select(s => (s.Sequence, s.Id)));
        Assert.Equal(b.LastSequence, a.LastSequence);
        Assert.Equal(acked.Select(s => s.Id), (await a.ReadAllAsync()).Select(s => s.Id));
    }

    private RedisUpdateStore NewStore(IUpdateSink? sink = null, CapturingLoggerProvider? logs = null, string? url = null) =>
        new(new HeraldOptions { HistoryMaxCount = 0, HistoryMaxAge = TimeSpan.Zero }, RedisTransport.Parse($"{url ?? _redis.Url}?prefix={_prefix}"), sink ?? new TestSink(), logger: logs?.CreateLogger("redis"));

    /// <summary>Two nodes sharing one log (what they hear, what they log), after <paramref name="updates"/> appends alternating between them.</summary>
    private async Task<(CapturingLoggerProvider Logs, RedisUpdateStore A, List<StoredUpdate> HeardA, RedisUpdateStore B, List<StoredUpdate> HeardB, List<StoredUpdate> Appended)> TwoNodesAfterAsync(int updates)
    {
        var logs = new CapturingLoggerProvider();
        var heardA = new List<StoredUpdate>();
        var heardB = new List<StoredUpdate>();
        var a = await StartNodeAsync(heardA, logs);
        var b = await StartNodeAsync(heardB, logs);
        var appended = new List<StoredUpdate>();
        for (var i = 0; i < updates; i++)
        {
            appended.Add(await (i % 2 == 0 ? a : b).AppendAsync(Update(), CancellationToken.None).Within());
        }

        return (logs, a, heardA, b, heardB, appended);
    }

    private async Task<RedisUpdateStore> StartNodeAsync(List<StoredUpdate>? heard = null, CapturingLoggerProvider? logs = null, string? url = null)
    {
        var store = NewStore(logs: logs, url: url, sink: new TestSink
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

    /// <summary>Appends once <paramref name="store"/> takes appends again (it answers unavailable until it has reconnected).</summary>
    private static async Task<StoredUpdate> AppendOnceBackAsync(IUpdateStore store)
    {
        StoredUpdate? stored = null;
        await TestTimeouts.EventuallyAsync(
            async () =>
            {
                try
                {
                    stored = await store.AppendAsync(Update(), CancellationToken.None).Within();
                    return true;
                }
                catch (StoreUnavailableException)
                {
                    return false;
                }
            },
            "appends work again");
        return stored!;
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
