using Herald.Storage;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Herald.Redis;

/// <summary>
/// Readiness: Redis reachable and this node's reader caught up with the shared log. Answered from what the
/// connections and the reader know anyway (the reader's <c>_atEnd</c>: its last read came back short of a full batch, and
/// no read failed since), without a command to Redis, so probing costs Redis nothing.
/// </summary>
internal sealed partial class RedisUpdateStore : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        // Words only: the description goes to the health-check log, and names no host.
        var result = _life.State != StoreState.Started ? HealthCheckResult.Unhealthy("the shared log is not running")
            : Volatile.Read(ref _writer) is not { IsConnected: true } ? HealthCheckResult.Unhealthy("Redis is unreachable")
            : !_atEnd ? HealthCheckResult.Unhealthy("catching up with the shared log")
            : HealthCheckResult.Healthy();
        return Task.FromResult(result);
    }
}
