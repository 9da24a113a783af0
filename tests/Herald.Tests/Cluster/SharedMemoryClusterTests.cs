using Herald.Storage;
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

    /// <summary>The hub's services as <c>AddHerald()</c> returned them, so the node's store is set through the public <c>UseStore</c>.</summary>
    private sealed class NodeServices(IServiceCollection services) : IHeraldBuilder
    {
        public IServiceCollection Services { get; } = services;
    }
}
