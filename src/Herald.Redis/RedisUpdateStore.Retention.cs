using StackExchange.Redis;

namespace Herald.Redis;

/// <summary>Retention: trims the stream from its oldest end in small atomic batches; every node runs it, the work is idempotent.</summary>
internal sealed partial class RedisUpdateStore
{
    /// <summary>Removes what retention no longer keeps, oldest first, a batch per script call.</summary>
    internal async Task TrimAsync()
    {
        var through = _maxCount > 0 ? Math.Max(0, LastSequence - _maxCount) : 0;
        var cutoff = _maxAge > TimeSpan.Zero ? (_time.GetUtcNow() - _maxAge).ToUnixTimeMilliseconds() : 0;
        var database = Database;
        while (true)
        {
            var removed = (long)await database.ScriptEvaluateAsync(RedisScripts.Trim, _keys, [through, cutoff, TrimBatch]).ConfigureAwait(false);
            if (removed < TrimBatch)
            {
                return;
            }
        }
    }

    private async Task RetainLoopAsync(CancellationToken stopping)
    {
        // Real time, whatever clock stamps the updates: the interval is how often to look, not an age.
        using var timer = new PeriodicTimer(CleanupInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(stopping).ConfigureAwait(false))
            {
                try
                {
                    await TrimAsync().ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is RedisException or TimeoutException)
                {
                    RedisLog.TrimFailed(_logger, ex, _transport.Display, CleanupInterval);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
