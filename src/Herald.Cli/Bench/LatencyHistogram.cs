using System.Numerics;

namespace Herald.Cli.Bench;

/// <summary>
/// A fixed-bucket, log-linear histogram of microsecond values (HDR-style: 64 linear sub-buckets per power of
/// two, so every bucket is within 1/64 ≈ 1.6 % of its value). Recording is one interlocked increment into a
/// per-processor stripe, so receive threads neither allocate nor fight over one cache line.
/// </summary>
internal sealed class LatencyRecorder
{
    private readonly long[][] _stripes;
    private readonly int _mask;

    public LatencyRecorder()
    {
        var stripes = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(1, Environment.ProcessorCount));
        _mask = stripes - 1;
        _stripes = new long[stripes][];
        for (var i = 0; i < stripes; i++)
        {
            _stripes[i] = new long[Histogram.SlotCount];
        }
    }

    /// <summary>Records one value, in microseconds.</summary>
    public void Record(long micros)
    {
        var stripe = _stripes[Thread.GetCurrentProcessorId() & _mask];
        Interlocked.Increment(ref stripe[Histogram.IndexOf(micros)]);
        if (micros > Volatile.Read(ref stripe[Histogram.MaxSlot]))
        {
            RaiseMax(ref stripe[Histogram.MaxSlot], micros);
        }
    }

    /// <summary>Notes the time of the latest receive (a racy "latest wins" store is all a rate needs).</summary>
    public void NoteReceive(long timestamp)
    {
        var stripe = _stripes[Thread.GetCurrentProcessorId() & _mask];
        if (timestamp > Volatile.Read(ref stripe[Histogram.LastSlot]))
        {
            Volatile.Write(ref stripe[Histogram.LastSlot], timestamp);
        }
    }

    /// <summary>The number of values recorded so far.</summary>
    public long Count
    {
        get
        {
            long total = 0;
            foreach (var stripe in _stripes)
            {
                for (var i = 0; i < Histogram.BucketCount; i++)
                {
                    total += Volatile.Read(ref stripe[i]);
                }
            }

            return total;
        }
    }

    public Histogram Snapshot()
    {
        var result = new Histogram();
        foreach (var stripe in _stripes)
        {
            for (var i = 0; i < Histogram.BucketCount; i++)
            {
                result.Counts[i] += Volatile.Read(ref stripe[i]);
            }

            result.Max = Math.Max(result.Max, Volatile.Read(ref stripe[Histogram.MaxSlot]));
            result.LastTimestamp = Math.Max(result.LastTimestamp, Volatile.Read(ref stripe[Histogram.LastSlot]));
        }

        return result;
    }

    private static void RaiseMax(ref long slot, long value)
    {
        var current = Volatile.Read(ref slot);
        while (value > current)
        {
            var seen = Interlocked.CompareExchange(ref slot, value, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }
}

/// <summary>A merged, read-only view of recorded values (also what a worker process sends its parent).</summary>
internal sealed class Histogram
{
    public const int SubBucketBits = 6;
    public const int SubBuckets = 1 << SubBucketBits;
    public const int BucketCount = 2048;
    public const int MaxSlot = BucketCount;
    public const int LastSlot = BucketCount + 8;
    public const int SlotCount = BucketCount + 16;

    public long[] Counts { get; } = new long[BucketCount];

    /// <summary>The largest value recorded, exact.</summary>
    public long Max { get; set; }

    /// <summary>The <see cref="System.Diagnostics.Stopwatch"/> timestamp of the latest receive.</summary>
    public long LastTimestamp { get; set; }

    public long Total
    {
        get
        {
            long total = 0;
            foreach (var c in Counts)
            {
                total += c;
            }

            return total;
        }
    }

    /// <summary>Values below 128 get a bucket each; above, 64 sub-buckets per power of two.</summary>
    public static int IndexOf(long value)
    {
        if (value < 2 * SubBuckets)
        {
            return value < 0 ? 0 : (int)value;
        }

        var shift = 63 - BitOperations.LeadingZeroCount((ulong)value) - SubBucketBits;
        var index = ((shift + 1) << SubBucketBits) + (int)(value >> shift) - SubBuckets;
        return index < BucketCount ? index : BucketCount - 1;
    }

    /// <summary>The highest value that lands in bucket <paramref name="index"/>.</summary>
    public static long UpperBound(int index)
    {
        if (index < 2 * SubBuckets)
        {
            return index;
        }

        var shift = (index >> SubBucketBits) - 1;
        var mantissa = (long)(index & (SubBuckets - 1)) + SubBuckets;
        return ((mantissa + 1) << shift) - 1;
    }

    /// <summary>The value at quantile <paramref name="q"/> (0..1), as its bucket's upper bound, capped by the max.</summary>
    public long Percentile(double q)
    {
        var total = Total;
        if (total == 0)
        {
            return 0;
        }

        var rank = (long)Math.Ceiling(q * total);
        rank = Math.Clamp(rank, 1, total);
        long seen = 0;
        for (var i = 0; i < BucketCount; i++)
        {
            seen += Counts[i];
            if (seen >= rank)
            {
                return Math.Min(UpperBound(i), Max);
            }
        }

        return Max;
    }

    public void Add(Histogram other)
    {
        for (var i = 0; i < BucketCount; i++)
        {
            Counts[i] += other.Counts[i];
        }

        Max = Math.Max(Max, other.Max);
        LastTimestamp = Math.Max(LastTimestamp, other.LastTimestamp);
    }

    /// <summary>Non-empty buckets as flat (index, count) pairs: what crosses the pipe from a worker.</summary>
    public long[] ToSparse()
    {
        var pairs = new List<long>();
        for (var i = 0; i < BucketCount; i++)
        {
            if (Counts[i] != 0)
            {
                pairs.Add(i);
                pairs.Add(Counts[i]);
            }
        }

        return [.. pairs];
    }

    public static Histogram FromSparse(long[] pairs, long max, long lastTimestamp)
    {
        var result = new Histogram { Max = max, LastTimestamp = lastTimestamp };
        for (var i = 0; i + 1 < pairs.Length; i += 2)
        {
            result.Counts[(int)pairs[i]] += pairs[i + 1];
        }

        return result;
    }
}
