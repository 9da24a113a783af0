using Herald.Mercure;
using Microsoft.Extensions.Hosting;

namespace Herald;

/// <summary>Opens the hub's store before the server takes requests, and closes streams before the store on shutdown.</summary>
internal sealed class HubLifetime(MercureHub hub) : IHostedLifecycleService
{
    public Task StartingAsync(CancellationToken cancellationToken) => hub.Store.StartAsync(cancellationToken);

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken)
    {
        hub.CloseAll();
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
