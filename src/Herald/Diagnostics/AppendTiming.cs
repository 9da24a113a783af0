using System.Diagnostics;

namespace Herald.Diagnostics;

/// <summary>
/// Times one store append and spans it (<c>herald.store.append</c>) when anybody listens: a struct held by the
/// publishing method (<c>using var</c>), so observing an append adds no allocation and no state machine of its own.
/// </summary>
internal readonly struct AppendTiming : IDisposable
{
    private readonly HeraldMetrics? _metrics;
    private readonly long _started;
    private readonly Activity? _activity;

    private AppendTiming(HeraldMetrics? metrics, long started, Activity? activity)
    {
        _metrics = metrics;
        _started = started;
        _activity = activity;
    }

    /// <summary>Starts timing when the append duration is collected, and the span when spans are.</summary>
    public static AppendTiming Start(HeraldMetrics metrics, HeraldTracing tracing)
        => metrics.AppendObserved
            ? new(metrics, Stopwatch.GetTimestamp(), tracing.StartAppend())
            : new(null, 0, tracing.StartAppend());

    /// <summary>The append has returned (stored, or failed).</summary>
    public void Dispose()
    {
        _metrics?.AppendReturned(_started);
        _activity?.Dispose();
    }
}
