using System.Net;
using Herald.Cli;
using Herald.Storage.Sqlite;
using Herald.Tests.Cluster;
using Herald.Tests.Redis;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Herald.Tests.Diagnostics;

/// <summary>
/// <c>/healthz</c> (live: the process answers) and <c>/readyz</c> (ready: the history takes updates; in a cluster,
/// Redis reachable and the node's reader caught up) of <c>herald serve</c>, against real SQLite and a real redis-server.
/// The answers are the status word only.
/// </summary>
public sealed class HealthTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_sqlite_hub_is_live_and_ready()
    {
        await using var node = await ClusterNode.StartAsync(new Dictionary<string, string?> { ["Herald:DataDir"] = NewDataDir() });

        Assert.Equal((HttpStatusCode.OK, "Healthy"), await GetAsync(node, HealthEndpoints.LivePath));
        Assert.Equal((HttpStatusCode.OK, "Healthy"), await GetAsync(node, HealthEndpoints.ReadyPath));
    }

    [Fact]
    public async Task A_sqlite_history_that_cannot_be_written_makes_the_hub_not_ready_until_it_can()
    {
        var log = new LogCapture();
        await using var node = await ClusterNode.StartAsync(
            new Dictionary<string, string?> { ["Herald:DataDir"] = NewDataDir() },
            services => services.AddSingleton<ILoggerProvider>(log));
        await PollAsync(node, HealthEndpoints.ReadyPath, HttpStatusCode.OK);
        var store = Assert.IsType<SqliteUpdateStore>(node.App.Services.GetRequiredService<Herald.Mercure.MercureHub>().Store);
        var before = store.LastSequence;

        // The writer connection refuses every write from now on, as a read-only file would.
        store.ExecuteOnWriterForTesting("PRAGMA query_only=1");
        await PollAsync(node, HealthEndpoints.ReadyPath, HttpStatusCode.ServiceUnavailable);
        Assert.Equal((HttpStatusCode.OK, "Healthy"), await GetAsync(node, HealthEndpoints.LivePath));
        Assert.Equal((HttpStatusCode.ServiceUnavailable, "Unhealthy"), await GetAsync(node, HealthEndpoints.ReadyPath));

        store.ExecuteOnWriterForTesting("PRAGMA query_only=0");
        await PollAsync(node, HealthEndpoints.ReadyPath, HttpStatusCode.OK);

        // Probing wrote no update into history, and the outage was logged once each way, not per probe.
        Assert.Equal(before, store.LastSequence);
        Assert.Single(log.WithId(107));
        Assert.Single(log.WithId(108));
    }

    [Fact]
    public async Task A_memory_hub_is_ready_until_its_history_is_closed()
    {
        await using var node = await ClusterNode.StartAsync(new Dictionary<string, string?> { ["Herald:DataDir"] = string.Empty });
        await PollAsync(node, HealthEndpoints.ReadyPath, HttpStatusCode.OK);

        await node.App.Services.GetRequiredService<Herald.Mercure.MercureHub>().Store.DisposeAsync();

        Assert.Equal((HttpStatusCode.ServiceUnavailable, "Unhealthy"), await GetAsync(node, HealthEndpoints.ReadyPath));
        Assert.Equal((HttpStatusCode.OK, "Healthy"), await GetAsync(node, HealthEndpoints.LivePath));
    }

    [Fact]
    public async Task A_node_cut_off_from_redis_is_live_but_not_ready_and_ready_again_once_it_caught_up()
    {
        await using var redis = await RedisServer.StartAsync(appendOnly: true);
        var settings = new Dictionary<string, string?> { ["Herald:Transport"] = redis.Url };
        await using var first = await ClusterNode.StartAsync(settings);
        await using var second = await ClusterNode.StartAsync(settings);
        ClusterNode[] nodes = [first, second];
        foreach (var node in nodes)
        {
            await PollAsync(node, HealthEndpoints.ReadyPath, HttpStatusCode.OK);
        }

        await first.PublishAsync("https://example.com/health", "before");
        var acknowledged = Store(second).LastSequence;

        await redis.KillAsync();
        foreach (var node in nodes)
        {
            await PollAsync(node, HealthEndpoints.ReadyPath, HttpStatusCode.ServiceUnavailable);
            Assert.Equal((HttpStatusCode.OK, "Healthy"), await GetAsync(node, HealthEndpoints.LivePath));
        }

        // The same port, data and append-only file: the stream comes back as it was.
        await redis.RestartAsync();
        foreach (var node in nodes)
        {
            await PollAsync(node, HealthEndpoints.ReadyPath, HttpStatusCode.OK);
            Assert.Equal((HttpStatusCode.OK, "Healthy"), await GetAsync(node, HealthEndpoints.LivePath));
        }

        // Ready means caught up: an update published on one node after the outage has reached the other's reader.
        var id = await second.PublishAsync("https://example.com/health", "after");
        var published = await Store(second).FindSequenceAsync(id, CancellationToken.None).AsTask().WaitAsync(Deadline);
        Assert.True(published > acknowledged);
        var until = DateTime.UtcNow + Deadline;
        while (Store(first).LastSequence < published)
        {
            Assert.True(DateTime.UtcNow < until, "the first node did not read the update published after the outage");
            await Task.Delay(50);
        }

        Assert.Equal((HttpStatusCode.OK, "Healthy"), await GetAsync(first, HealthEndpoints.ReadyPath));
    }

    private static Herald.Storage.IUpdateStore Store(ClusterNode node) =>
        node.App.Services.GetRequiredService<Herald.Mercure.MercureHub>().Store;

    private static string NewDataDir() => Path.Combine(Path.GetTempPath(), "herald-tests", Guid.NewGuid().ToString("N"));

    private static async Task<(HttpStatusCode Status, string Body)> GetAsync(ClusterNode node, string path)
    {
        using var response = await node.Client.GetAsync(path).WaitAsync(Deadline);
        return (response.StatusCode, await response.Content.ReadAsStringAsync().WaitAsync(Deadline));
    }

    /// <summary>Asks until <paramref name="path"/> answers <paramref name="expected"/>; fails after 30 s.</summary>
    private static async Task PollAsync(ClusterNode node, string path, HttpStatusCode expected)
    {
        var until = DateTime.UtcNow + Deadline;
        while (true)
        {
            var (status, body) = await GetAsync(node, path);
            if (status == expected)
            {
                return;
            }

            Assert.True(DateTime.UtcNow < until, $"{node.BaseUrl}{path} answered {(int)status} {body}, not {(int)expected}, for 30 s");
            await Task.Delay(100);
        }
    }
}
