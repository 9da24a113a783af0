namespace Herald.Dispatch;

/// <summary>
/// A dedicated thread that runs subscribers' writers: it takes every subscriber with frames waiting, writes
/// each one's whole queue to its connection in one go, and moves on. Fan-out never runs on the thread pool, so
/// requests (publishes, new subscriptions) are never queued behind it.
/// </summary>
/// <remarks>
/// Under load a subscriber's frames pile up while the loop serves the others, so the next write carries all of
/// them: the cost of a socket write is shared by more events exactly when the hub falls behind, without any
/// timer. A writer whose connection cannot take the bytes at once continues on its own when the socket is
/// ready and comes back to the loop afterwards, so one slow client never holds up the rest. A process has
/// one loop per two cores (at least one); subscribers are spread over them round robin.
/// </remarks>
internal sealed class WriterLoop
{
    private static readonly WriterLoop[] Loops = CreateLoops();
    private static int s_next;

    private readonly object _gate = new();
    private Subscriber[] _queued = new Subscriber[256];
    private Subscriber[] _running = new Subscriber[256];
    private int _queuedCount;
    private bool _sleeping;

    private WriterLoop(int index)
    {
        Index = index;
        var thread = new Thread(Run)
        {
            IsBackground = true,
            Name = $"Herald writer {index}",
        };
        thread.Start();
    }

    /// <summary>How many loops the process runs.</summary>
    public static int Count => Loops.Length;

    /// <summary>This loop's position in <see cref="Get"/>.</summary>
    public int Index { get; }

    /// <summary>The loop for a new subscriber (round robin).</summary>
    public static WriterLoop Next() => Loops[(int)((uint)Interlocked.Increment(ref s_next) % (uint)Loops.Length)];

    /// <summary>The loop at <paramref name="index"/>.</summary>
    public static WriterLoop Get(int index) => Loops[index];

    /// <summary>Queues one subscriber's writer.</summary>
    public void Schedule(Subscriber subscriber)
    {
        lock (_gate)
        {
            Add(subscriber);
            Wake();
        }
    }

    /// <summary>Queues the writers one dispatch woke, under one lock.</summary>
    public void Schedule(Subscriber[] subscribers, int count)
    {
        lock (_gate)
        {
            for (var i = 0; i < count; i++)
            {
                Add(subscribers[i]);
            }

            Wake();
        }
    }

    private static WriterLoop[] CreateLoops()
    {
        var count = Math.Max(1, Environment.ProcessorCount / 2);
        if (int.TryParse(Environment.GetEnvironmentVariable("HERALD_WRITER_THREADS"), out var configured) && configured > 0)
        {
            count = configured;
        }

        var loops = new WriterLoop[count];
        for (var i = 0; i < count; i++)
        {
            loops[i] = new WriterLoop(i);
        }

        return loops;
    }

    private void Add(Subscriber subscriber)
    {
        if (_queuedCount == _queued.Length)
        {
            Array.Resize(ref _queued, _queued.Length * 2);
        }

        _queued[_queuedCount++] = subscriber;
    }

    private void Wake()
    {
        if (_sleeping)
        {
            _sleeping = false;
            Monitor.Pulse(_gate);
        }
    }

    private void Run()
    {
        while (true)
        {
            int count;
            lock (_gate)
            {
                while (_queuedCount == 0)
                {
                    _sleeping = true;
                    Monitor.Wait(_gate);
                }

                (_queued, _running) = (_running, _queued);
                count = _queuedCount;
                _queuedCount = 0;
                if (_queued.Length < _running.Length)
                {
                    // Keep both arrays the size the busiest round needed, so swapping never shrinks the queue.
                    _queued = new Subscriber[_running.Length];
                }
            }

            var running = _running;
            for (var i = 0; i < count; i++)
            {
                running[i].RunWriter();
                running[i] = null!;
            }
        }
    }
}
