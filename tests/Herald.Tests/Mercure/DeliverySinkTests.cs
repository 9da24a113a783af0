using Herald.Mercure;
using Herald.Storage;
using Herald.Tests.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Herald.Tests.Mercure;

/// <summary>
/// The sink a store is built with is the hub's delivery side. An update is stored before it reaches the sink, so a
/// delivery that fails must never fail the append (stores rely on it: the sink contract says it does not throw).
/// </summary>
public sealed class DeliverySinkTests
{
    [Fact]
    public async Task A_failing_delivery_does_not_fail_the_append_and_the_store_is_built_with_the_hubs_sink()
    {
        IUpdateSink? given = null;
        var services = new ServiceCollection()
            .AddLogging()
            .AddSingleton<IConfiguration>(new ConfigurationBuilder().Build());
        services.AddHerald().UseStore((sp, sink) =>
        {
            given = sink;
            return new MemoryUpdateStore(new HeraldOptions(), sink);
        });
        await using var provider = services.BuildServiceProvider();
        var hub = provider.GetRequiredService<MercureHub>();
        await hub.Store.StartAsync(CancellationToken.None).Within();
        Assert.NotNull(given);

        // An update the dispatcher cannot take (no topics list at all) makes delivery throw inside the sink.
        given.OnStored(new StoredUpdate(1, new Update { Topics = null! }, DateTimeOffset.UtcNow));
        given.OnAnnouncement("not json");

        var first = await hub.PublishAsync(new Update { Topics = ["https://example.com/a"], Data = "1" }).AsTask().Within();
        var second = await hub.PublishAsync(new Update { Topics = ["https://example.com/a"], Data = "2" }).AsTask().Within();
        Assert.Equal([first, second], (await hub.Store.ReadAllAsync()).Select(s => s.Id));
    }

    [Theory]
    [InlineData("a\nevent: forged", null)]
    [InlineData("a\rb", null)]
    [InlineData("a\0b", null)]
    [InlineData("urn:uuid:1", "x\ndata: forged")]
    public void A_stored_update_whose_id_or_type_would_break_the_stream_is_not_framed(string id, string? type)
    {
        // A store hands back what it holds (a shared log may hold entries no hub wrote): such an update must not
        // become extra fields or events in every subscriber's stream.
        var update = new Update { Topics = ["https://example.com/a"], Data = "x", EventId = id, EventType = type };

        Assert.Null(DeliverySink.Encode(update));
        Assert.NotNull(DeliverySink.Encode(update with { EventId = "urn:uuid:1", EventType = "ok" }));
    }
}
