using Herald.Storage;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using StackExchange.Redis;

namespace Herald.Redis;

/// <summary>
/// Readiness: Redis reachable and this node's reader caught up with the shared log. Answered from what the
/// connections and the reader know anyway, without a command to Redis, so probing costs Redis nothing.
/// </summary>
internal sealed partial class RedisUpdateStore : IHealthCheck
{
    // Set by the reader: true once a read came back short of a full batch (nothing more was waiting for this node),
    // false when a read failed, so a node back from an outage is ready only once it has read what it missed.
    private bool _caughtUp;

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        // Words only: the description goes to the health-check log, and names no host.
        var result = _life.State != StoreState.Started ? HealthCheckResult.Unhealthy("the shared log is not running")
            : Volatile.Read(ref _writer) is not { IsConnected: true } ? HealthCheckResult.Unhealthy("Redis is unreachable")
            : !Volatile.Read(ref _caughtUp) ? HealthCheckResult.Unhealthy("catching up with the shared log")
            : HealthCheckResult.Healthy();
        return Task.FromResult(result);
    }

    /// <summary>Whether a read came back short of a full batch of updates, i.e. reached the end of the stream then.</summary>
    private bool ReachedEnd(RedisResult result)
    {
        if (result.IsNull)
        {
            return true;
        }

        foreach (var streamResult in (RedisResult[])result!)
        {
            var stream = (RedisResult[])streamResult!;
            if ((string?)stream[0] != (string?)PresenceKey && ((RedisResult[])stream[1]!).Length >= ReadBatch)
            {
                return false;
            }
        }

        return true;
    }
}
