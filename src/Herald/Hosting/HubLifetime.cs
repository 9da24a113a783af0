using Herald.Mercure;
using Microsoft.Extensions.Hosting;

namespace Herald;

/// <summary>Opens the hub's store before the server takes requests, and closes streams before the store on shutdown.</summary>
internal sealed class HubLifetime(MercureHub hub) : IHostedLifecycleService
{
    public async Task StartingAsync(CancellationToken cancellationToken)
    {
        await hub.Store.StartAsync(cancellationToken).ConfigureAwait(false);

        // Before any subscription: subscription events name the newest update dispatched before them, and what the
        // store held at start counts as such (else the first events after a restart would say "before everything").
        hub.StoreStarted();
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>
    /// Drains the streams (<see cref="HeraldOptions.ShutdownDrain"/>) before the server stops: the server still answers
    /// meanwhile, so publishes are stored and new subscriptions get a 503 that says when to come back. The token is
    /// the host's shutdown timeout; when it fires the rest close at once.
    /// </summary>
    public Task StoppingAsync(CancellationToken cancellationToken) => hub.DrainAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
