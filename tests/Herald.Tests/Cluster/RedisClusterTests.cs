using Herald.Redis;
using Herald.Tests.Redis;

namespace Herald.Tests.Cluster;

/// <summary>
/// The cluster specification on Redis Streams: every node in this process on one real <c>redis-server</c>, the way
/// <c>herald serve --transport redis://…</c> runs. Outages and killed processes are in <c>Redis/ClusterTests</c>.
/// </summary>
public sealed class RedisClusterTests(RedisFixture redis) : ClusterSpec, IClassFixture<RedisFixture>
{
    // Each test has a class instance of its own, so a prefix per instance gives each test a stream of its own.
    private readonly string _prefix = "cluster-" + Guid.NewGuid().ToString("N");

    private protected override Type StoreType => typeof(RedisUpdateStore);

    private protected override Task<ClusterNode> StartNodeAsync(IDictionary<string, string?> settings)
    {
        settings["Herald:Transport"] = $"{redis.Server.Url}?prefix={_prefix}";
        return ClusterNode.StartAsync(settings);
    }
}
