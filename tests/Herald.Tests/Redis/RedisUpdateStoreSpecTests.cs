using Herald.Redis;
using Herald.Storage;
using Herald.Tests.Storage;

namespace Herald.Tests.Redis;

/// <summary>The storage specification, run against Redis Streams on a real <c>redis-server</c>.</summary>
public sealed class RedisUpdateStoreSpecTests(RedisFixture redis) : UpdateStoreSpec, IClassFixture<RedisFixture>
{
    // Each test has a class instance of its own, so a prefix per instance keeps tests apart on the shared server.
    private readonly string _prefix = "spec-" + Guid.NewGuid().ToString("N");

    private protected override IUpdateStore CreateStore(StoreSettings settings, IUpdateSink sink) =>
        new RedisUpdateStore(
            new HeraldOptions { HistoryMaxCount = settings.HistoryMaxCount, HistoryMaxAge = settings.HistoryMaxAge },
            RedisTransport.Parse($"{redis.Server.Url}?prefix={_prefix}"),
            sink,
            settings.Time)
        {
            CleanupInterval = TimeSpan.FromMilliseconds(50),
        };
}
