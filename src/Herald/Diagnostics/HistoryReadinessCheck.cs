using Herald.Mercure;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Herald.Diagnostics;

/// <summary>
/// Readiness: the hub is not stopping and its store can take an update now. The store answers for itself when it
/// implements <see cref="IHealthCheck"/> (memory, SQLite and Redis do); a store that does not is taken at its word.
/// </summary>
/// <remarks>
/// Probes come as often as anyone asks (an orchestrator every few seconds, anyone who can reach the port as fast as
/// they like), so the stores answer from state they keep anyway and never under the lock publishing takes; the
/// descriptions they give go to the health-check log, never into the answer (the endpoint writes the status word).
/// </remarks>
internal sealed class HistoryReadinessCheck(MercureHub hub) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (hub.IsStopping)
        {
            return Task.FromResult(HealthCheckResult.Unhealthy("the hub is stopping"));
        }

        return hub.Store is IHealthCheck store
            ? store.CheckHealthAsync(context, cancellationToken)
            : Task.FromResult(HealthCheckResult.Healthy());
    }
}
