using BenchmarkDotNet.Attributes;
using Herald.Storage;
using Herald.Storage.Sqlite;

namespace Herald.Benchmarks;

/// <summary>
/// Durable publishes into the SQLite history: N publishers each awaiting its own append, as concurrent POSTs
/// do. Every operation is one committed update, so Op/s is publishes per second; group commit is what lets
/// it grow with the number of publishers.
/// </summary>
[MemoryDiagnoser]
[OperationsPerSecond]
public class StoreAppendBenchmarks
{
    private const int AppendsPerInvoke = 12_800;
    private string _dataDir = "";
    private SqliteUpdateStore _store = null!;
    private Update[] _updates = [];

    [Params(1, 16, 64)]
    public int Publishers { get; set; }

    [Params(false, true)]
    public bool SyncEveryCommit { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _dataDir = StoreBenchmarkData.NewDataDir();
        _store = StoreBenchmarkData.Open(_dataDir, SyncEveryCommit);
        _updates = StoreBenchmarkData.Updates(1_000);
    }

    [GlobalCleanup]
    public void Cleanup() => StoreBenchmarkData.Close(_store, _dataDir);

    [Benchmark(OperationsPerInvoke = AppendsPerInvoke)]
    public Task Append()
    {
        var perPublisher = AppendsPerInvoke / Publishers;
        var publishers = new Task[Publishers];
        for (var p = 0; p < publishers.Length; p++)
        {
            publishers[p] = PublishAsync(p, perPublisher);
        }

        return Task.WhenAll(publishers);
    }

    private async Task PublishAsync(int publisher, int count)
    {
        // Yield first so the publishers really run side by side instead of one after the other.
        await Task.Yield();
        for (var i = 0; i < count; i++)
        {
            // A fresh id per append (ids are unique in history), the rest shared.
            var update = _updates[(publisher + i) % _updates.Length] with { EventId = null };
            await _store.AppendAsync(update, CancellationToken.None);
        }
    }
}

/// <summary>
/// A subscriber resuming from the earliest of 100,000 stored updates: the replay the hub does for
/// <c>Last-Event-ID: earliest</c>. Op/s is updates read per second.
/// </summary>
[MemoryDiagnoser]
[OperationsPerSecond]
public class StoreReplayBenchmarks
{
    private const int Stored = 100_000;
    private string _dataDir = "";
    private SqliteUpdateStore _store = null!;

    [GlobalSetup]
    public void Setup()
    {
        _dataDir = StoreBenchmarkData.NewDataDir();
        _store = StoreBenchmarkData.Open(_dataDir, syncEveryCommit: false);
        var updates = StoreBenchmarkData.Updates(1_000);
        var appends = new Task[Stored];
        for (var i = 0; i < Stored; i++)
        {
            appends[i] = _store.AppendAsync(updates[i % updates.Length] with { EventId = null }, CancellationToken.None).AsTask();
        }

        Task.WhenAll(appends).GetAwaiter().GetResult();
    }

    [GlobalCleanup]
    public void Cleanup() => StoreBenchmarkData.Close(_store, _dataDir);

    [Benchmark(OperationsPerInvoke = Stored)]
    public async Task<long> ReplayFromEarliest()
    {
        var count = 0L;
        await foreach (var stored in _store.ReadAfterAsync(0, null, CancellationToken.None))
        {
            count += stored.Update.Data!.Length > 0 ? 1 : 0;
        }

        return count != Stored ? throw new InvalidOperationException($"Replayed {count} of {Stored}.") : count;
    }
}

internal static class StoreBenchmarkData
{
    public static string NewDataDir() => Path.Combine(Path.GetTempPath(), "herald-bench", Guid.NewGuid().ToString("N"));

    public static SqliteUpdateStore Open(string dataDir, bool syncEveryCommit)
    {
        // Retention off: the benchmark measures appends, not the background cleanup.
        var store = new SqliteUpdateStore(new HeraldOptions
        {
            DataDir = dataDir,
            HistoryMaxCount = 0,
            HistoryMaxAge = TimeSpan.Zero,
            SyncEveryCommit = syncEveryCommit,
        }, NoSink.Instance);
        store.StartAsync(CancellationToken.None).GetAwaiter().GetResult();
        return store;
    }

    /// <summary>Realistic updates: a JSON payload of ~100 bytes, one topic, sometimes an alternate and a type.</summary>
    public static Update[] Updates(int count) =>
        Enumerable.Range(0, count).Select(i => new Update
        {
            Topics = i % 4 == 0
                ? [$"https://example.com/books/{i}", "https://example.com/books"]
                : [$"https://example.com/books/{i}"],
            Data = $"{{\"id\":{i},\"title\":\"Book {i}\",\"price\":{i % 97}.99,\"stock\":{i % 13},\"updatedBy\":\"bench\"}}",
            EventType = i % 3 == 0 ? "book-updated" : null,
        }).ToArray();

    public static void Close(SqliteUpdateStore store, string dataDir)
    {
        store.DisposeAsync().AsTask().GetAwaiter().GetResult();
        Directory.Delete(dataDir, recursive: true);
    }
}

/// <summary>A sink that drops what it is handed: the store benchmarks measure appends, not dispatch.</summary>
internal sealed class NoSink : IUpdateSink
{
    public static readonly NoSink Instance = new();

    public void OnStored(StoredUpdate update)
    {
    }

    public void OnAnnouncement(string announcement)
    {
    }
}
