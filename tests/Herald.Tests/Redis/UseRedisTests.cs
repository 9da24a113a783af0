using Herald.Redis;
using Herald.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Herald.Tests.Redis;

/// <summary>How <c>Herald:Transport</c> picks the store (no Redis needed: nothing is started).</summary>
public sealed class UseRedisTests
{
    [Fact]
    public async Task A_redis_transport_selects_the_Redis_store()
    {
        await using var services = Build("redis://127.0.0.1:6399?prefix=shop", useRedis: true);

        Assert.IsType<RedisUpdateStore>(services.GetRequiredService<Herald.Mercure.MercureHub>().Store);
    }

    [Fact]
    public async Task Without_a_transport_the_local_store_stays()
    {
        await using var services = Build(transport: null, useRedis: true);

        Assert.IsType<MemoryUpdateStore>(services.GetRequiredService<Herald.Mercure.MercureHub>().Store);
    }

    [Fact]
    public async Task Without_a_transport_the_store_chosen_before_UseRedis_stays()
    {
        var services = new ServiceCollection()
            .AddSingleton<IConfiguration>(new ConfigurationBuilder().Build())
            .AddLogging();
        MemoryUpdateStore? chosen = null;
        services.AddHerald()
            .UseStore((sp, sink) => chosen = new MemoryUpdateStore(new HeraldOptions(), sink))
            .UseRedis();
        await using var provider = services.BuildServiceProvider();

        var store = provider.GetRequiredService<Herald.Mercure.MercureHub>().Store;
        Assert.NotNull(chosen);
        Assert.Same(chosen, store);
    }

    [Fact]
    public void UseRedis_before_AddHerald_says_what_to_do()
    {
        var builder = new ServiceCollection().AddHerald();
        builder.Services.RemoveAll<UpdateStoreFactory>();

        var error = Assert.Throws<InvalidOperationException>(() => builder.UseRedis());
        Assert.StartsWith("Call AddHerald() before UseRedis()", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_transport_nobody_registered_is_a_one_line_error_without_the_password()
    {
        await using var services = Build("redis://:s3cret@127.0.0.1:6399", useRedis: false);

        var error = Assert.Throws<InvalidOperationException>(() => services.GetRequiredService<Herald.Mercure.MercureHub>().Store);
        Assert.Equal("Herald:Transport is set (redis://…) but no transport is registered: reference Herald.Redis and call AddHerald().UseRedis().", error.Message);
    }

    [Fact]
    public async Task A_malformed_transport_is_refused_in_one_line()
    {
        await using var services = Build("redis://:s3cret@127.0.0.1:6399?colour=blue", useRedis: true);

        var error = Assert.Throws<InvalidOperationException>(() => services.GetRequiredService<Herald.Mercure.MercureHub>().Store);
        Assert.DoesNotContain("s3cret", error.Message, StringComparison.Ordinal);
        Assert.Contains("colour", error.Message, StringComparison.Ordinal);
    }

    private static ServiceProvider Build(string? transport, bool useRedis)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Herald:Transport"] = transport })
            .Build();
        var services = new ServiceCollection()
            .AddSingleton<IConfiguration>(configuration)
            .AddLogging();
        var herald = services.AddHerald();
        if (useRedis)
        {
            herald.UseRedis();
        }

        return services.BuildServiceProvider();
    }
}
