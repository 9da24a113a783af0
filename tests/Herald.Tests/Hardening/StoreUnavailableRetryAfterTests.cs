using System.Net;
using Herald.Mercure;
using Herald.Storage;
using Herald.Storage.Sqlite;
using Herald.Tests.Infrastructure;
using Herald.Tests.Redis;
using Microsoft.Extensions.Logging;

namespace Herald.Tests.Hardening;

/// <summary>
/// When the store cannot take or read updates the hub answers 503 with <c>Retry-After</c> and a one-line reason,
/// so publishers and EventSource clients come back instead of giving up. Through Kestrel (subscriptions too; the
/// direct path is in <c>DirectSubscribeTests</c>). The reason names no file, host or driver message: those go to the log.
/// </summary>
public sealed class StoreUnavailableRetryAfterTests
{
    private const string Topic = "https://example.com/retry-after";

    [Fact]
    public async Task A_publish_the_sqlite_store_cannot_write_is_answered_503_with_retry_after()
    {
        var dataDir = Path.Combine(Path.GetTempPath(), "herald-tests", Guid.NewGuid().ToString("N"));
        await using var hub = await KestrelOnlyHub.StartAsync(new Dictionary<string, string?> { ["Herald:DataDir"] = dataDir });
        var store = Assert.IsType<SqliteUpdateStore>(hub.Hub.Store);

        store.ExecuteOnWriterForTesting("PRAGMA query_only=1");
        using var refused = await PublishAsync(hub);
        var reason = await refused.Content.ReadAsStringAsync();
        using var refusedAgain = await PublishAsync(hub);
        var reasonAgain = await refusedAgain.Content.ReadAsStringAsync();
        store.ExecuteOnWriterForTesting("PRAGMA query_only=0");
        using var stored = await PublishAsync(hub);

        AssertRetryLater(refused, reason, "history store unavailable");
        AssertRetryLater(refusedAgain, reasonAgain, "history store unavailable");
        Assert.Equal(HttpStatusCode.OK, stored.StatusCode);

        // The client learns neither where the database is nor what SQLite said: the log does, once per outage.
        AssertLeaksNothing(reason, dataDir, Path.GetTempPath(), "herald-tests", ".db", "/", "SQLite", "readonly", "Exception");
        var outage = OutageEntries(hub);
        Assert.Single(outage, e => e.Level == LogLevel.Error);
        Assert.Contains(dataDir, outage.Single(e => e.Level == LogLevel.Error).Message, StringComparison.Ordinal);
        Assert.Single(outage, e => e.Level == LogLevel.Information);
    }

    [Fact]
    public async Task With_redis_down_a_publish_and_a_resuming_subscription_are_answered_503_with_retry_after()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var hub = await KestrelOnlyHub.StartAsync(new Dictionary<string, string?> { ["Herald:Transport"] = redis.Url });
        using var acked = await PublishAsync(hub);
        Assert.Equal(HttpStatusCode.OK, acked.StatusCode);
        var id = await acked.Content.ReadAsStringAsync();

        await redis.KillAsync();
        using var publish = await PublishAsync(hub);
        var publishReason = await publish.Content.ReadAsStringAsync();
        using var resume = new HttpRequestMessage(HttpMethod.Get, hub.HubUrl + "?topic=" + Uri.EscapeDataString(Topic));
        resume.Headers.Authorization = new("Bearer", TestHub.SubscriberToken());
        resume.Headers.Add("Last-Event-ID", id);
        using var subscribe = await hub.Client.SendAsync(resume, HttpCompletionOption.ResponseHeadersRead).WaitAsync(TimeSpan.FromSeconds(30));
        var subscribeReason = await subscribe.Content.ReadAsStringAsync().WaitAsync(TimeSpan.FromSeconds(30));

        AssertRetryLater(publish, publishReason, "history store unavailable");
        AssertRetryLater(subscribe, subscribeReason, "history unavailable");

        // Neither Redis's address nor its client's message reaches the client; the log has them, once per outage.
        string[] internals = ["127.0.0.1", $":{redis.Port}", redis.Url, "Redis", "redis", "Exception", "timeout"];
        AssertLeaksNothing(publishReason, internals);
        AssertLeaksNothing(subscribeReason, internals);
        var outage = OutageEntries(hub);
        Assert.Single(outage, e => e.Level == LogLevel.Error);
        Assert.Contains($"127.0.0.1:{redis.Port}", outage.Single(e => e.Level == LogLevel.Error).Message, StringComparison.Ordinal);
    }

    private static async Task<HttpResponseMessage> PublishAsync(KestrelOnlyHub hub)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, hub.HubUrl)
        {
            Content = new FormUrlEncodedContent([new("topic", Topic), new("data", "x")]),
        };
        request.Headers.Authorization = new("Bearer", TestHub.PublisherToken());
        return await hub.Client.SendAsync(request).WaitAsync(TimeSpan.FromSeconds(30));
    }

    private static List<(LogLevel Level, string Category, string Message)> OutageEntries(KestrelOnlyHub hub) =>
        [.. hub.Log.Entries.Where(e => e.Category == typeof(StoreOutageLog).FullName)];

    private static void AssertLeaksNothing(string reason, params string[] internals)
    {
        foreach (var fragment in internals)
        {
            Assert.DoesNotContain(fragment, reason, StringComparison.OrdinalIgnoreCase);
        }
    }

    private static void AssertRetryLater(HttpResponseMessage response, string reason, string startsWith)
    {
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        var retryAfter = response.Headers.RetryAfter;
        Assert.NotNull(retryAfter);
        Assert.True(retryAfter.Delta is { } delta && delta > TimeSpan.Zero, $"Retry-After: {retryAfter}");
        Assert.StartsWith(startsWith, reason, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', reason.TrimEnd());
    }
}
