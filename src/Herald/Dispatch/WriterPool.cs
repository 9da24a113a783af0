namespace Herald.Dispatch;

/// <summary>
/// The hub's writer threads: a fixed set of <see cref="WriterLoop"/>s that new subscribers are spread over, round
/// robin. Created with the hub and stopped with it, so two hubs in one process (or test hosts) never share them.
/// </summary>
/// <remarks>
/// One loop per two cores by default (<see cref="HeraldOptions.WriterThreads"/>): the loops only copy frames into
/// connections, so they leave the other cores to Kestrel, publishes and the store.
/// </remarks>
internal sealed class WriterPool : IDisposable
{
    private readonly WriterLoop[] _loops;
    private int _next;
    private bool _disposed;

    /// <summary>Starts <paramref name="count"/> loops.</summary>
    public WriterPool(int count)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        _loops = new WriterLoop[count];
        for (var i = 0; i < count; i++)
        {
            _loops[i] = new WriterLoop(i);
        }
    }

    /// <summary>The hub's pool, sized by <see cref="HeraldOptions.WriterThreads"/>.</summary>
    /// <exception cref="InvalidOperationException">The setting is below 1.</exception>
    public static WriterPool Create(HeraldOptions options)
    {
        if (options.WriterThreads < 1)
        {
            throw new InvalidOperationException(
                $"{HeraldOptions.SectionName}:{nameof(HeraldOptions.WriterThreads)} must be at least 1, not '{options.WriterThreads}'.");
        }

        return new WriterPool(options.WriterThreads);
    }

    /// <summary>One loop per two cores, at least one.</summary>
    public static int DefaultCount => Math.Max(1, Environment.ProcessorCount / 2);

    /// <summary>How many loops the pool runs.</summary>
    public int Count => _loops.Length;

    /// <summary>The loop at <paramref name="index"/> (<see cref="WriterLoop.Index"/>).</summary>
    public WriterLoop this[int index] => _loops[index];

    /// <summary>The loop for a new subscriber (round robin).</summary>
    public WriterLoop Next() => _loops[(int)((uint)Interlocked.Increment(ref _next) % (uint)_loops.Length)];

    /// <summary>Stops every loop and waits for its thread to end; streams still writing through them end.</summary>
    public void Dispose()
    {
        lock (_loops)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
        }

        foreach (var loop in _loops)
        {
            loop.Stop();
        }

        foreach (var loop in _loops)
        {
            loop.Join();
        }
    }
}
