namespace Herald.Bench;

/// <summary>The final word of a worker process, sent as one JSON line.</summary>
internal sealed record WorkerReport(
    long Connected, long Headers, long Subscribed, long Received, long Errors,
    long[] Buckets, long Max, long LastTimestamp, string? FirstError, double CpuSeconds);
