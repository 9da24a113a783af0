namespace Herald.Bench;

/// <summary>What the publishers did.</summary>
internal sealed record PublishReport(long Succeeded, long Failed, double Seconds, double UpdatesPerSecond, Histogram Latency, string? FirstError, long FirstTimestamp);
