using System.Collections.Concurrent;
using System.Net;
using Herald.Storage;
using Herald.Storage.Sqlite;
using Herald.Tests.Infrastructure;

namespace Herald.Tests.Hardening;

/// <summary>
/// Stopping the hub (or disposing the SQLite store) while publishes are in flight loses nothing it acknowledged:
/// every append that returned, every publish answered 200 with an id, is in history after reopening.
/// Publishers keep going until they are refused, so the stop always lands in the middle of them.
/// </summary>
public sealed class StoreShutdownTests
{
    private const string Topic = "https://example.com/shutdown";
    private const int Publishers = 16;
    private const int AckedBeforeStop = 300;

    [Fact]
    public async Task Disposing_the_sqlite_store_with_appends_in_flight_keeps_every_acknowledged_one()
    {
        var options = new HeraldOptions { DataDir = Path.Combine(Path.GetTempPath(), "herald-tests", Guid.NewGuid().ToString("N")) };
        var store = new SqliteUpdateStore(options, new Herald.Tests.Storage.TestSink());
        await store.StartAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));
        var acked = new ConcurrentQueue<string>();
        var refused = 0;
        var publishers = Enumerable.Range(0, Publishers).Select(p => Task.Run(async () =>
        {
            for (var i = 0; ; i++)
            {
                try
                {
                    var stored = await store.AppendAsync(new Update { Topics = [Topic], Data = $"{p}:{i}" }, CancellationToken.None);
                    acked.Enqueue(stored.Update.EventId!);
                }
                catch (Exception e) when (e is ObjectDisposedException or InvalidOperationException or StoreUnavailableException or OperationCanceledException)
                {
                    Interlocked.Increment(ref refused);
                    return;
                }
            }
        })).ToArray();

        await TestHub.Eventually(() => acked.Count >= AckedBeforeStop, "appends to be acknowledged", 30_000);
        await store.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
        await Task.WhenAll(publishers).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(Publishers, refused);
        await using var reopened = new SqliteUpdateStore(options, new Herald.Tests.Storage.TestSink());
        await reopened.StartAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));
        var stored = await StoredIdsAsync(reopened);
        var lost = acked.Where(id => !stored.Contains(id)).ToList();
        Assert.True(lost.Count == 0, $"{lost.Count} of {acked.Count} acknowledged updates are not in history, e.g. {string.Join(", ", lost.Take(5))}");
    }

    [Fact]
    public async Task Stopping_the_hub_with_publishes_in_flight_keeps_every_one_answered_200()
    {
        var dataDir = Path.Combine(Path.GetTempPath(), "herald-tests", Guid.NewGuid().ToString("N"));
        var settings = new Dictionary<string, string?> { ["Herald:DataDir"] = dataDir };
        var acked = new ConcurrentQueue<string>();
        var notAcked = 0;
        await using (var hub = await TestHub.StartAsync(settings))
        {
            var token = TestHub.PublisherToken();
            using var client = new HttpClient { BaseAddress = new Uri(hub.BaseUrl), Timeout = TimeSpan.FromSeconds(30) };
            var publishers = Enumerable.Range(0, Publishers).Select(p => Task.Run(async () =>
            {
                for (var i = 0; ; i++)
                {
                    using var request = new HttpRequestMessage(HttpMethod.Post, "/.well-known/mercure")
                    {
                        Content = new FormUrlEncodedContent([new("topic", Topic), new("data", $"{p}:{i}")]),
                    };
                    request.Headers.Authorization = new("Bearer", token);
                    try
                    {
                        using var response = await client.SendAsync(request);
                        var body = await response.Content.ReadAsStringAsync();
                        if (response.StatusCode != HttpStatusCode.OK)
                        {
                            Interlocked.Increment(ref notAcked);
                            return;
                        }

                        acked.Enqueue(body);
                    }
                    catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
                    {
                        // The hub stopped listening or closed the connection: this publish was not acknowledged.
                        Interlocked.Increment(ref notAcked);
                        return;
                    }
                }
            })).ToArray();

            await TestHub.Eventually(() => acked.Count >= AckedBeforeStop, "publishes to be acknowledged", 30_000);
            await hub.App.StopAsync().WaitAsync(TimeSpan.FromSeconds(30));
            await Task.WhenAll(publishers).WaitAsync(TimeSpan.FromSeconds(60));
        }

        Assert.Equal(Publishers, notAcked);
        await using var reopened = await TestHub.StartAsync(settings);
        var stored = await StoredIdsAsync(reopened.Hub.Store);
        var lost = acked.Where(id => !stored.Contains(id)).ToList();
        Assert.True(lost.Count == 0, $"{lost.Count} of {acked.Count} acknowledged updates are not in history, e.g. {string.Join(", ", lost.Take(5))}");
    }

    private static async Task<HashSet<string>> StoredIdsAsync(IUpdateStore store)
    {
        var ids = new HashSet<string>(StringComparer.Ordinal);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await foreach (var stored in store.ReadAfterAsync(0, null, timeout.Token))
        {
            ids.Add(stored.Update.EventId!);
        }

        return ids;
    }
}
