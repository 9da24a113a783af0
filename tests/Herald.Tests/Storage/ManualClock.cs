namespace Herald.Tests.Storage;

/// <summary>
/// A clock the test moves by hand, so retention by age is tested without waiting for an hour. Timers still run
/// on real time (not overridden), which keeps a store's cleanup interval working.
/// </summary>
internal sealed class ManualClock : TimeProvider
{
    private long _ticks = new DateTimeOffset(2025, 1, 1, 12, 0, 0, TimeSpan.Zero).UtcTicks;

    public override DateTimeOffset GetUtcNow() => new(Interlocked.Read(ref _ticks), TimeSpan.Zero);

    public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
}
