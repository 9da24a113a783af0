namespace Herald.Bench;

/// <summary>What a set of subscribers reports once stopped.</summary>
internal sealed record FleetReport(FleetCounters Counters, Histogram Latency, string? FirstError);
