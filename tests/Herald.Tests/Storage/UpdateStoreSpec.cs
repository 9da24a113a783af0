using System.Collections.Concurrent;
using Herald.Storage;

namespace Herald.Tests.Storage;

/// <summary>What each retention test asks of the store under test.</summary>
internal sealed record StoreSettings
{
    /// <summary>0: keep any number.</summary>
    public long HistoryMaxCount { get; init; }

    /// <summary>Zero: keep forever.</summary>
    public TimeSpan HistoryMaxAge { get; init; }

    /// <summary>The store's clock; the system clock when <c>null</c>.</summary>
    public TimeProvider? Time { get; init; }
}

/// <summary>
/// The rules every <see cref="IUpdateStore"/> keeps, run against each implementation by a subclass that says
/// how to create one (the idea of SignalR's backplane specification tests). Nothing here knows the storage
/// behind the interface; implementation-specific tests live in the subclasses.
/// </summary>
public abstract class UpdateStoreSpec : IAsyncLifetime
{
    protected const string Topic = "https://example.com/books/1";

    private readonly List<IUpdateStore> _stores = [];
    private readonly Dictionary<IUpdateStore, TestSink> _sinks = [];

    /// <summary>A new, unstarted store. Retention must clean up within a second or so, so tests stay quick.</summary>
    private protected abstract IUpdateStore CreateStore(StoreSettings settings, IUpdateSink sink);

    /// <summary>
    /// Whether the sink has every update before its append completes. SQLite acknowledges first and hands the update
    /// to the sink right after, on a thread of its own (a fan-out must not hold up the next commit); see IUpdateStore.
    /// </summary>
    protected virtual bool SinkBeforeAppendCompletes => true;

    /// <summary>
    /// A copy of what the listener heard (the listener adds under a lock on <paramref name="heard"/>) once it heard
    /// <paramref name="count"/> items: a store may hand updates over right after acknowledging them (SQLite).
    /// </summary>
    private protected static async Task<List<T>> HeardAsync<T>(List<T> heard, int count)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            lock (heard)
            {
                if (heard.Count >= count || DateTime.UtcNow > deadline)
                {
                    return [.. heard];
                }
            }

            await Task.Delay(10);
        }
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public virtual async Task DisposeAsync()
    {
        foreach (var store in _stores)
        {
            await store.DisposeAsync().Within();
        }
    }

    private protected async Task<IUpdateStore> StartStoreAsync(StoreSettings? settings = null, Action<StoredUpdate>? listener = null)
    {
        var sink = new TestSink { Stored = listener };
        var store = CreateStore(settings ?? new StoreSettings(), sink);
        _stores.Add(store);
        _sinks[store] = sink;

        await store.StartAsync(CancellationToken.None).Within();
        return store;
    }

    private protected static Update NewUpdate(string? id = null, string? data = "{\"price\":42}", string topic = Topic) =>
        new() { Topics = [topic], EventId = id, Data = data };

    private protected static Task<StoredUpdate> AppendAsync(IUpdateStore store, Update update) =>
        store.AppendAsync(update, CancellationToken.None).Within();

    [Fact]
    public async Task An_empty_store_has_nothing_to_read_or_find()
    {
        var store = await StartStoreAsync();

        Assert.Equal(0, store.LastSequence);
        Assert.Empty(await store.ReadAllAsync());
        Assert.Null(await store.FindSequenceAsync("urn:uuid:nope", CancellationToken.None).Within());
    }

    [Fact]
    public async Task Announcements_reach_the_listener_in_order_and_take_no_place_in_history()
    {
        var store = await StartStoreAsync(new StoreSettings { HistoryMaxCount = 3 });
        var heard = new ConcurrentQueue<string>();
        var all = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _sinks[store].Announced = a =>
        {
            heard.Enqueue(a);
            if (heard.Count == 50)
            {
                all.TrySetResult();
            }
        };
        var kept = await AppendAsync(store, NewUpdate(data: "kept"));

        for (var i = 0; i < 50; i++)
        {
            await store.AnnounceAsync("a" + i, CancellationToken.None).AsTask().Within();
        }

        await all.Task.Within();
        Assert.Equal(Enumerable.Range(0, 50).Select(i => "a" + i), heard);
        Assert.Equal(kept.Sequence, store.LastSequence);
        Assert.Equal(["kept"], (await store.ReadAllAsync()).Select(u => u.Update.Data));
    }

    [Fact]
    public async Task Sequences_are_strictly_increasing_and_LastSequence_follows()
    {
        var store = await StartStoreAsync();
        var previous = 0L;
        for (var i = 0; i < 50; i++)
        {
            var stored = await AppendAsync(store, NewUpdate());

            Assert.True(stored.Sequence > previous, $"{stored.Sequence} should follow {previous}");
            Assert.Equal(stored.Sequence, store.LastSequence);
            previous = stored.Sequence;
        }
    }

    [Fact]
    public async Task An_update_without_id_gets_a_urn_uuid_and_a_given_id_is_kept()
    {
        var store = await StartStoreAsync();

        var generated = await AppendAsync(store, NewUpdate(id: null));
        var given = await AppendAsync(store, NewUpdate(id: "https://example.com/events/7"));

        Assert.StartsWith("urn:uuid:", generated.Id, StringComparison.Ordinal);
        Assert.True(Guid.TryParse(generated.Id["urn:uuid:".Length..], out _));
        Assert.Equal("https://example.com/events/7", given.Id);
        Assert.Equal([generated.Id, given.Id], (await store.ReadAllAsync()).Select(s => s.Id));
    }

    public static TheoryData<string> RoundTripCases => ["full", "minimal", "multiline", "empty data", "topics to escape"];

    [Theory]
    [MemberData(nameof(RoundTripCases))]
    public async Task Every_field_round_trips(string name)
    {
        var update = name switch
        {
            "full" => new Update
            {
                Topics = [Topic, "https://example.com/authors/{id}", "urn:alternate:ünïcødé"],
                Data = "{\"title\":\"Dune\"}",
                Private = true,
                EventId = "urn:uuid:0d9d5c6b-3f8e-4a5e-9d4c-1f0f4f6b7a10",
                EventType = "book-updated",
                ReconnectionInterval = TimeSpan.FromMilliseconds(2500),
            },
            "minimal" => new Update { Topics = [Topic] },
            "multiline" => new Update { Topics = [Topic], Data = "line 1\nline 2\r\nline 3\rline 4 – “quoted” 🚀" },
            "topics to escape" => new Update { Topics = ["a \"quoted\" \\ <topic> & 'x' + `y`", "tab\tline\nend", Topic] },
            _ => new Update { Topics = [Topic], Data = string.Empty },
        };
        var store = await StartStoreAsync();

        var appended = await AppendAsync(store, update);
        var read = Assert.Single(await store.ReadAllAsync());

        foreach (var stored in new[] { appended, read })
        {
            Assert.Equal(update.Topics, stored.Update.Topics);
            Assert.Equal(update.Data, stored.Update.Data);
            Assert.Equal(update.Private, stored.Update.Private);
            Assert.Equal(update.EventType, stored.Update.EventType);
            Assert.Equal(update.ReconnectionInterval, stored.Update.ReconnectionInterval);
            Assert.Equal(appended.Id, stored.Id);
            Assert.Equal(appended.Sequence, stored.Sequence);
            Assert.Equal(appended.StoredAt, stored.StoredAt);
        }

        if (update.EventId is not null)
        {
            Assert.Equal(update.EventId, read.Id);
        }
    }

    [Fact]
    public async Task The_listener_gets_every_update_once_in_order()
    {
        const int Publishers = 16;
        const int PerPublisher = 500;
        var heard = new List<StoredUpdate>();
        var seen = new ConcurrentDictionary<long, bool>();
        IUpdateStore? self = null;
        var lastSequenceBehind = 0;
        var store = await StartStoreAsync(listener: stored =>
        {
            // The hub relies on LastSequence covering every update the listener has been given.
            if (Volatile.Read(ref self) is { } current && current.LastSequence < stored.Sequence)
            {
                Interlocked.Increment(ref lastSequenceBehind);
            }

            lock (heard)
            {
                heard.Add(stored);
            }

            seen[stored.Sequence] = true;
        });
        Volatile.Write(ref self, store);

        var appended = new ConcurrentBag<StoredUpdate>();
        var heardTooLate = 0;
        var publishers = Enumerable.Range(0, Publishers).Select(p => Task.Run(async () =>
        {
            for (var i = 0; i < PerPublisher; i++)
            {
                var stored = await store.AppendAsync(NewUpdate(id: $"urn:test:{p}:{i}"), CancellationToken.None).Within();
                if (!seen.ContainsKey(stored.Sequence))
                {
                    Interlocked.Increment(ref heardTooLate);
                }

                appended.Add(stored);
            }
        }));
        await Task.WhenAll(publishers).Within();

        // A store that hands updates over after acknowledging them does so right after: wait for the last one.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!SinkBeforeAppendCompletes && seen.Count < Publishers * PerPublisher && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
        }

        List<StoredUpdate> snapshot;
        lock (heard)
        {
            snapshot = [.. heard];
        }

        if (SinkBeforeAppendCompletes)
        {
            Assert.Equal(0, heardTooLate);
        }

        Assert.Equal(0, lastSequenceBehind);
        Assert.Equal(Publishers * PerPublisher, snapshot.Count);
        for (var i = 1; i < snapshot.Count; i++)
        {
            Assert.True(snapshot[i].Sequence > snapshot[i - 1].Sequence, $"listener order broke at {i}");
        }

        Assert.Equal(appended.Select(s => (s.Sequence, s.Id)).Order(), snapshot.Select(s => (s.Sequence, s.Id)));
        Assert.Equal(snapshot[^1].Sequence, store.LastSequence);

        // Each publisher's own updates keep the order it appended them in.
        foreach (var group in snapshot.GroupBy(s => s.Id.Split(':')[2]))
        {
            Assert.Equal(
                Enumerable.Range(0, PerPublisher).Select(i => $"urn:test:{group.Key}:{i}"),
                group.Select(s => s.Id));
        }
    }

    [Fact]
    public async Task FindSequence_knows_stored_ids_and_not_others()
    {
        var store = await StartStoreAsync();
        var first = await AppendAsync(store, NewUpdate(id: "urn:test:first"));
        var second = await AppendAsync(store, NewUpdate());

        Assert.Equal(first.Sequence, await store.FindSequenceAsync("urn:test:first", CancellationToken.None).Within());
        Assert.Equal(second.Sequence, await store.FindSequenceAsync(second.Id, CancellationToken.None).Within());
        Assert.Null(await store.FindSequenceAsync("urn:test:never", CancellationToken.None).Within());
        Assert.Null(await store.FindSequenceAsync("URN:TEST:FIRST", CancellationToken.None).Within());
    }

    [Fact]
    public async Task ReadAfter_replays_from_the_earliest_from_the_middle_and_up_to_a_bound()
    {
        var store = await StartStoreAsync();
        var stored = new List<StoredUpdate>();
        for (var i = 0; i < 10; i++)
        {
            stored.Add(await AppendAsync(store, NewUpdate(data: $"#{i}")));
        }

        Assert.Equal(stored.Describe(), (await store.ReadAllAsync(0)).Describe());
        Assert.Equal(stored.Skip(4).Describe(), (await store.ReadAllAsync(stored[3].Sequence)).Describe());
        Assert.Equal(stored.Skip(4).Take(3).Describe(), (await store.ReadAllAsync(stored[3].Sequence, stored[6].Sequence)).Describe());
        Assert.Equal(stored.Take(1).Describe(), (await store.ReadAllAsync(0, stored[0].Sequence)).Describe());
        Assert.Empty(await store.ReadAllAsync(stored[^1].Sequence));
        Assert.Empty(await store.ReadAllAsync(stored[5].Sequence, stored[5].Sequence));
    }

    [Fact]
    public async Task ReadAfter_crosses_page_boundaries_without_gap_or_duplicate()
    {
        const int Count = 2_345;
        var store = await StartStoreAsync();
        var appends = Enumerable.Range(0, Count).Select(i => store.AppendAsync(NewUpdate(data: $"#{i}"), CancellationToken.None).AsTask());
        var stored = (await Task.WhenAll(appends).Within()).OrderBy(s => s.Sequence).ToList();

        var read = await store.ReadAllAsync();

        Assert.Equal(stored.Select(s => s.Sequence), read.Select(s => s.Sequence));
        Assert.Equal(stored.Select(s => s.Id), read.Select(s => s.Id));
        Assert.Equal(stored.Skip(1000).Take(1000).Select(s => s.Id), (await store.ReadAllAsync(stored[999].Sequence, stored[1999].Sequence)).Select(s => s.Id));
    }

    [Fact]
    public async Task A_duplicate_id_is_refused_and_the_store_goes_on()
    {
        var heard = new List<string>();
        var store = await StartStoreAsync(listener: stored =>
        {
            lock (heard)
            {
                heard.Add(stored.Id);
            }
        });
        var first = await AppendAsync(store, NewUpdate(id: "urn:test:dup", data: "first"));

        var refused = await Assert.ThrowsAsync<DuplicateUpdateIdException>(() => AppendAsync(store, NewUpdate(id: "urn:test:dup", data: "second")));
        var next = await AppendAsync(store, NewUpdate(id: "urn:test:next"));

        Assert.Equal("urn:test:dup", refused.Id);
        Assert.Contains("urn:test:dup", refused.Message, StringComparison.Ordinal);
        Assert.True(next.Sequence > first.Sequence);
        Assert.Equal(next.Sequence, store.LastSequence);
        var kept = await store.ReadAllAsync();
        Assert.Equal(["urn:test:dup", "urn:test:next"], kept.Select(s => s.Id));
        Assert.Equal("first", kept[0].Update.Data);
        Assert.Equal(["urn:test:dup", "urn:test:next"], await HeardAsync(heard, 2));
    }

    [Fact]
    public async Task Of_concurrent_appends_with_one_id_exactly_one_is_stored()
    {
        var store = await StartStoreAsync();
        var attempts = Enumerable.Range(0, 50)
            .Select(i => Task.Run(() => store.AppendAsync(NewUpdate(id: "urn:test:race", data: $"#{i}"), CancellationToken.None).AsTask()))
            .ToList();
        try
        {
            await Task.WhenAll(attempts).Within();
        }
        catch (DuplicateUpdateIdException)
        {
        }

        Assert.Equal(1, attempts.Count(t => t.IsCompletedSuccessfully));
        Assert.All(attempts.Where(t => !t.IsCompletedSuccessfully), t => Assert.IsType<DuplicateUpdateIdException>(t.Exception!.InnerException));
        var kept = Assert.Single(await store.ReadAllAsync());
        Assert.Equal("urn:test:race", kept.Id);
    }

    [Fact]
    public async Task Retention_by_count_keeps_the_newest()
    {
        var store = await StartStoreAsync(new StoreSettings { HistoryMaxCount = 10 });
        var stored = new List<StoredUpdate>();
        for (var i = 0; i < 25; i++)
        {
            stored.Add(await AppendAsync(store, NewUpdate()));
        }

        await TestTimeouts.EventuallyAsync(async () => (await store.ReadAllAsync()).Count == 10, "only 10 updates are left");

        Assert.Equal(stored.Skip(15).Select(s => s.Id), (await store.ReadAllAsync()).Select(s => s.Id));
        Assert.Null(await store.FindSequenceAsync(stored[0].Id, CancellationToken.None).Within());
        Assert.Null(await store.FindSequenceAsync(stored[14].Id, CancellationToken.None).Within());
        Assert.Equal(stored[15].Sequence, await store.FindSequenceAsync(stored[15].Id, CancellationToken.None).Within());
        Assert.Equal(stored[^1].Sequence, store.LastSequence);
    }

    [Fact]
    public async Task Retention_by_age_removes_old_updates_and_keeps_young_ones()
    {
        var clock = new ManualClock();
        var store = await StartStoreAsync(new StoreSettings { HistoryMaxAge = TimeSpan.FromHours(1), Time = clock });
        var old = new List<StoredUpdate>();
        for (var i = 0; i < 5; i++)
        {
            old.Add(await AppendAsync(store, NewUpdate()));
        }

        clock.Advance(TimeSpan.FromMinutes(61));
        var young = new List<StoredUpdate>();
        for (var i = 0; i < 3; i++)
        {
            young.Add(await AppendAsync(store, NewUpdate()));
        }

        await TestTimeouts.EventuallyAsync(async () => (await store.ReadAllAsync()).Count == 3, "the old updates are gone");

        Assert.Equal(young.Select(s => s.Id), (await store.ReadAllAsync()).Select(s => s.Id));
        Assert.Null(await store.FindSequenceAsync(old[^1].Id, CancellationToken.None).Within());
        Assert.Equal(young[0].Sequence, await store.FindSequenceAsync(young[0].Id, CancellationToken.None).Within());

        // Numbering goes on after the trimmed ones.
        var next = await AppendAsync(store, NewUpdate());
        Assert.True(next.Sequence > young[^1].Sequence);
    }

    [Fact]
    public async Task An_id_freed_by_retention_can_be_used_again()
    {
        var clock = new ManualClock();
        var store = await StartStoreAsync(new StoreSettings { HistoryMaxAge = TimeSpan.FromHours(1), Time = clock });
        var first = await AppendAsync(store, NewUpdate(id: "urn:test:reused"));
        clock.Advance(TimeSpan.FromHours(2));

        await TestTimeouts.EventuallyAsync(async () => (await store.ReadAllAsync()).Count == 0, "the update is gone");
        var again = await AppendAsync(store, NewUpdate(id: "urn:test:reused"));

        Assert.True(again.Sequence > first.Sequence);
        Assert.Equal(again.Sequence, await store.FindSequenceAsync("urn:test:reused", CancellationToken.None).Within());
    }

    [Fact]
    public async Task An_append_cancelled_beforehand_stores_nothing()
    {
        var heard = 0;
        var store = await StartStoreAsync(listener: _ => Interlocked.Increment(ref heard));
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => store.AppendAsync(NewUpdate(), cancelled.Token).Within());

        Assert.Empty(await store.ReadAllAsync());
        Assert.Equal(0, heard);
        Assert.Equal(0, store.LastSequence);
    }

    [Fact]
    public async Task An_update_without_topic_is_refused()
    {
        var store = await StartStoreAsync();

        await Assert.ThrowsAsync<ArgumentException>(async () => await store.AppendAsync(new Update { Topics = [] }, CancellationToken.None).Within());
        Assert.Equal(0, store.LastSequence);
    }

    [Fact]
    public async Task Using_a_store_before_start_or_after_dispose_throws()
    {
        var unstarted = CreateStore(new StoreSettings(), new TestSink());
        await using (unstarted)
        {
            await Assert.ThrowsAsync<InvalidOperationException>(async () => await unstarted.AppendAsync(NewUpdate(), CancellationToken.None).Within());
        }

        var store = CreateStore(new StoreSettings(), new TestSink());
        await store.StartAsync(CancellationToken.None).Within();
        await AppendAsync(store, NewUpdate());
        await store.DisposeAsync().Within();
        await store.DisposeAsync().Within();

        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await store.AppendAsync(NewUpdate(), CancellationToken.None).Within());
    }
}
