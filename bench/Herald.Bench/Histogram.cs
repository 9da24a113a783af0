using System.Numerics;

namespace Herald.Bench;

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
