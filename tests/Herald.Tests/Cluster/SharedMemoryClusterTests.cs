using Herald.Mercure;
using Herald.Storage;
using Herald.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Herald.Tests.Cluster;

/// <summary>
/// The cluster specification on the in-memory shared log: every node in this process, each with its own store
/// and reader on one <see cref="SharedMemoryLog"/>, registered through the public <c>UseStore</c>. No server needed.
/// </summary>
public sealed class SharedMemoryClusterTests : ClusterSpec
{
    // Each test has a class instance of its own, so each test has a log of its own.
    private readonly SharedMemoryLog _log = new();

    private protected override Type StoreType => typeof(SharedMemoryStore);

    private protected override Task<ClusterNode> StartNodeAsync(IDictionary<string, string?> settings) =>
        ClusterNode.StartAsync(settings, services => new NodeServices(services).UseStore((provider, sink) => new SharedMemoryStore(
            _log,
            sink,
            provider.GetRequiredService<IOptions<HeraldOptions>>().Value,
            provider.GetRequiredService<TimeProvider>())));

    /// <summary>
    /// A subscriber leaves a node and resumes on one whose reader is behind: that node finds the
    /// <c>Last-Event-ID</c> in the shared log but has not dispatched it yet. What it then dispatches live up to that id,
    /// the subscriber already has. Only this log can hold a node's reader back on purpose; on Redis the same happens
    /// when a node's reader is slow or reconnecting.
    /// </summary>
    [Fact]
    public async Task A_subscriber_resuming_on_a_node_whose_reader_lags_gets_nothing_twice()
    {
        const string Topic = "https://example.com/a";
        var left = await AddNodeAsync();
        var lagging = await AddNodeAsync();
        var laggingHub = lagging.App.Services.GetRequiredService<MercureHub>();
        var subscriber = await SubscribeAsync(left, "*");
        ((SharedMemoryStore)laggingHub.Store).PauseReading();
        var early = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            early.Add(await left.PublishAsync(Topic, $"#{i}"));
        }

        await subscriber.WaitUntilAsync(events => events.Count == 5, "the 5 updates on the node it leaves");
        await subscriber.CloseAsync();
        await subscriber.ResumeOnAsync(lagging);

        // Registered and its (empty) replay over before the lagging node reads on.
        await TestHub.Eventually(
            () => laggingHub.Dispatcher.Snapshot() is [{ IsCatchingUp: false }],
            "the resumed subscriber registered and caught up on the lagging node");
        ((SharedMemoryStore)laggingHub.Store).ResumeReading();
        var end = await left.PublishAsync(Topic, "end");

        Assert.Equal(early, await subscriber.IdsBeforeAsync(end));
    }

    /// <summary>The hub's services as <c>AddHerald()</c> returned them, so the node's store is set through the public <c>UseStore</c>.</summary>
    private sealed class NodeServices(IServiceCollection services) : IHeraldBuilder
    {
        public IServiceCollection Services { get; } = services;
    }
}
