namespace Herald.Bench;

/// <summary>What a set of subscribers has done so far: cheap to read, read often for the progress line.</summary>
/// <remarks><see cref="CpuSeconds"/> is a worker process's own CPU time (0 for subscribers held in this process).</remarks>
internal readonly record struct FleetCounters(long Connected, long Headers, long Subscribed, long Received, long Errors, double CpuSeconds = 0)
{
    public static FleetCounters operator +(FleetCounters a, FleetCounters b) => new(
        a.Connected + b.Connected, a.Headers + b.Headers, a.Subscribed + b.Subscribed, a.Received + b.Received, a.Errors + b.Errors,
        a.CpuSeconds + b.CpuSeconds);
}
