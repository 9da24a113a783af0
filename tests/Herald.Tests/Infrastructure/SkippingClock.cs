namespace Herald.Tests.Infrastructure;

/// <summary>
/// The system clock plus an offset the test adds to. Time runs as usual (timers, heartbeats, HTTP timeouts), and
/// a test that needs a token to expire or a write timeout to pass skips ahead instead of sleeping through a window
/// it chose for a machine of unknown speed: a short window fails on a loaded machine, a long one makes the suite slow.
/// </summary>
internal sealed class SkippingClock : TimeProvider
{
    private long _offsetTicks;

    /// <summary>How far ahead of the system clock this one is.</summary>
    public TimeSpan Offset => TimeSpan.FromTicks(Interlocked.Read(ref _offsetTicks));

    public override long TimestampFrequency => TimeProvider.System.TimestampFrequency;

    public override DateTimeOffset GetUtcNow() => TimeProvider.System.GetUtcNow() + Offset;

    public override long GetTimestamp() =>
        TimeProvider.System.GetTimestamp() + (long)(Offset.TotalSeconds * TimeProvider.System.TimestampFrequency);

    /// <summary>Moves this clock (wall time and timestamps alike) <paramref name="by"/> ahead, at once.</summary>
    public void Skip(TimeSpan by) => Interlocked.Add(ref _offsetTicks, by.Ticks);
}
