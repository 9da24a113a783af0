using System.Diagnostics.Metrics;
using Herald.Redis;
using Herald.Tests.Cluster;
using Herald.Tests.Redis;
using Herald.Tests.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace Herald.Tests.Diagnostics;

/// <summary>
/// How far a cluster node's reader is behind the shared log (<c>herald.cluster.reader.lag</c>): nothing while it has
/// read to the end, growing while Redis is away, nothing again once it has caught up.
/// </summary>
public sealed class MetricsRedisReaderTests : IAsyncLifetime
{
    private RedisServer _redis = null!;

    public async Task InitializeAsync() => _redis = await RedisServer.StartAsync(appendOnly: true);

    public async Task DisposeAsync() => await _redis.DisposeAsync();

    [Fact]
    public async Task The_reader_lag_is_zero_when_caught_up_grows_while_Redis_is_away_and_is_zero_again_after()
    {
        var published = new List<Instrument>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, _) =>
            {
                if (instrument.Meter.Name == "Herald" && instrument.Name == "herald.cluster.reader.lag")
                {
                    lock (published)
                    {
                        published.Add(instrument);
                    }
                }
            },
        };
        listener.Start();

        var prefix = "lag-" + Guid.NewGuid().ToString("N");
        await using var store = new RedisUpdateStore(
            new HeraldOptions { HistoryMaxCount = 0, HistoryMaxAge = TimeSpan.Zero },
            RedisTransport.Parse($"{_redis.Url}?prefix={prefix}"),
            new TestSink());
        await store.StartAsync(CancellationToken.None).Within();

        await TestTimeouts.EventuallyAsync(() => Task.FromResult(store.ReaderLag == TimeSpan.Zero), "the reader reached the end of the log");
        lock (published)
        {
            Assert.Contains(published, instrument => instrument.Unit == "s");
        }

        await _redis.KillAsync();
        await TestTimeouts.EventuallyAsync(() => Task.FromResult(store.ReaderLag > TimeSpan.Zero), "the reader counted as behind while Redis is away");

        await _redis.RestartAsync();
        await TestTimeouts.EventuallyAsync(() => Task.FromResult(store.ReaderLag == TimeSpan.Zero), "the reader caught up again");
    }

    [Fact]
    public async Task In_a_host_the_reader_lag_gauge_is_on_the_hosts_meter_factory()
    {
        var scopes = new List<object?>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, _) =>
            {
                if (instrument.Meter.Name == "Herald" && instrument.Name == "herald.cluster.reader.lag")
                {
                    lock (scopes)
                    {
                        scopes.Add(instrument.Meter.Scope);
                    }
                }
            },
        };
        listener.Start();

        await using var node = await ClusterNode.StartAsync(new Dictionary<string, string?>
        {
            ["Herald:DataDir"] = string.Empty,
            ["Herald:Transport"] = $"{_redis.Url}?prefix=lag-{Guid.NewGuid():N}",
        });
        var factory = node.App.Services.GetRequiredService<IMeterFactory>();

        // Other tests' stores publish the gauge too (on their own meters or their own hosts'): this host's must be among them.
        await TestTimeouts.EventuallyAsync(
            () =>
            {
                lock (scopes)
                {
                    return Task.FromResult(scopes.Contains(factory));
                }
            },
            "the gauge was published on the host's meter factory");
    }
}
