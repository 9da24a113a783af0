using Herald.Dispatch;
using Microsoft.Extensions.Logging;

namespace Herald.DirectHttp;

/// <summary>
/// Threads of their own (one per core, shared by every endpoint) on which the listener opens subscriptions: each runs
/// there up to its first wait (the request authorized, the subscriber registered, its replay queued), and only what
/// follows goes to the thread pool.
/// </summary>
/// <remarks>
/// Measured, not assumed (workload (f): 10,000 subscribers reconnecting at once to a restarted hub): opened on pool
/// threads, the storm's 10,000 openings filled the pool's queue, and everything else queued behind them — a
/// publisher's request, its commit, its acknowledgment — so no publish was answered until the last subscriber was in
/// (1.6–2.3 s). Opened here, the storm takes these threads, and the pool is left to the publishers and to the live
/// streams. A client cannot hold one: its request head was complete before it got here, and nothing here waits.
/// </remarks>
internal sealed class SubscriptionAdmission : IDisposable
{
    /// <summary>One per core: opening a subscription is CPU work (its replay queued), and the storm should have the cores the publishers leave.</summary>
    private static readonly int Threads = Environment.ProcessorCount;

    private readonly HandOffQueue<Func<Task>> _queue = new();
    private readonly ILogger _logger;

    public SubscriptionAdmission(ILogger logger)
    {
        _logger = logger;
        for (var i = 0; i < Threads; i++)
        {
            new Thread(Run) { IsBackground = true, Name = "Herald admission " + i }.Start();
        }
    }

    /// <summary>Runs <paramref name="open"/> on an admission thread (its task is not awaited: it ends with its stream). False once stopped.</summary>
    public bool TryAdd(Func<Task> open) => _queue.TryAdd(open);

    /// <summary>Takes nothing more; what is queued still runs (each sees the listener stopping and closes its connection).</summary>
    public void Dispose() => _queue.Complete();

    private void Run()
    {
        while (_queue.TryTake(out var open))
        {
            try
            {
                _ = open();
            }
#pragma warning disable CA1031 // One subscription that failed to open must not stop the thread that opens the others.
            catch (Exception e)
#pragma warning restore CA1031
            {
                DirectHttpLog.SubscriptionFailed(_logger, e, "admission");
            }
        }
    }
}
