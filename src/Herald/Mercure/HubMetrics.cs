namespace Herald.Mercure;

/// <summary>
/// Running counters of a hub (updates in, deliveries out, dispatch latency), cheap enough for the hot path:
/// interlocked adds and a fixed histogram, no allocation.
/// </summary>
internal sealed class HubMetrics
{
    // Dispatch latency buckets in microseconds, roughly exponential: enough resolution for p50/p99.
    private static readonly long[] BucketBoundsMicros =
        [1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000, 200_000, 500_000, 1_000_000, long.MaxValue];

    private readonly long[] _buckets = new long[BucketBoundsMicros.Length];
    private long _published;
    private long _deliveries;
    private long _reached;

    public long Published => Interlocked.Read(ref _published);

    /// <summary>Updates that reached at least one subscriber (the dashboard's "updates out").</summary>
    public long Reached => Interlocked.Read(ref _reached);

    public long Deliveries => Interlocked.Read(ref _deliveries);

    public void RecordDispatch(int delivered, TimeSpan elapsed)
    {
        Interlocked.Increment(ref _published);
        Interlocked.Add(ref _deliveries, delivered);
        if (delivered > 0)
        {
            Interlocked.Increment(ref _reached);
        }

        var micros = (long)elapsed.TotalMicroseconds;
        var i = 0;
        while (micros > BucketBoundsMicros[i])
        {
            i++;
        }

        Interlocked.Increment(ref _buckets[i]);
    }

    /// <summary>Takes the histogram since the last call and returns its percentile (upper bucket bound, µs).</summary>
    public (double P50Micros, double P99Micros) TakeLatencyPercentiles()
    {
        var counts = new long[_buckets.Length];
        long total = 0;
        for (var i = 0; i < counts.Length; i++)
        {
            counts[i] = Interlocked.Exchange(ref _buckets[i], 0);
            total += counts[i];
        }

        return (Percentile(counts, total, 0.50), Percentile(counts, total, 0.99));
    }

    private static double Percentile(long[] counts, long total, double p)
    {
        if (total == 0)
        {
            return 0;
        }

        var target = (long)Math.Ceiling(total * p);
        long seen = 0;
        for (var i = 0; i < counts.Length; i++)
        {
            seen += counts[i];
            if (seen >= target)
            {
                return BucketBoundsMicros[i] == long.MaxValue ? BucketBoundsMicros[i - 1] : BucketBoundsMicros[i];
            }
        }

        return 0;
    }
}
