using System.Numerics;

namespace Herald.Bench;

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
