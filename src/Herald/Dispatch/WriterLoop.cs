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
/// ready and comes back to the loop afterwards, so one slow client never holds up the rest. Loops belong to a
/// <see cref="WriterPool"/>, which the hub owns and stops.
/// </remarks>
internal sealed class WriterLoop
{
    private readonly object _gate = new();
    private readonly Thread _thread;
    private IWriterWork[] _queued = new IWriterWork[256];
    private IWriterWork[] _running = new IWriterWork[256];
    private int _queuedCount;
    private bool _sleeping;
    private bool _stopped;

    /// <summary>Starts the loop's thread.</summary>
    /// <param name="index">Its position in its pool.</param>
    public WriterLoop(int index)
    {
        Index = index;
        _thread = new Thread(Run)
        {
            IsBackground = true,
            Name = $"Herald writer {index}",
        };
        _thread.Start();
    }

    /// <summary>This loop's position in its <see cref="WriterPool"/>.</summary>
    public int Index { get; }

    /// <summary>The loop's thread (tests check that it ends with its pool).</summary>
    internal Thread Thread => _thread;

    /// <summary>Queues one subscriber's writer; once the loop has stopped, the writer is abandoned instead.</summary>
    public void Schedule(IWriterWork work)
    {
        lock (_gate)
        {
            if (!_stopped)
            {
                Add(work);
                Wake();
                return;
            }
        }

        work.AbandonWriter();
    }

    /// <summary>Queues the writers one dispatch woke, under one lock.</summary>
    public void Schedule(IWriterWork[] work, int count)
    {
        lock (_gate)
        {
            if (!_stopped)
            {
                for (var i = 0; i < count; i++)
                {
                    Add(work[i]);
                }

                Wake();
                return;
            }
        }

        for (var i = 0; i < count; i++)
        {
            work[i].AbandonWriter();
        }
    }

    /// <summary>
    /// Stops the thread after its current round; writers still queued, or handed over later, are abandoned (their
    /// streams end), so nothing waits for a writer that will never run.
    /// </summary>
    public void Stop()
    {
        lock (_gate)
        {
            _stopped = true;
            _sleeping = false;
            Monitor.Pulse(_gate);
        }
    }

    /// <summary>Waits for the thread to end (after <see cref="Stop"/>).</summary>
    public void Join()
    {
        if (Thread.CurrentThread != _thread)
        {
            _thread.Join();
        }
    }

    private void Add(IWriterWork work)
    {
        if (_queuedCount == _queued.Length)
        {
            Array.Resize(ref _queued, _queued.Length * 2);
        }

        _queued[_queuedCount++] = work;
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
        bool stopped;
        do
        {
            int count;
            lock (_gate)
            {
                while (_queuedCount == 0 && !_stopped)
                {
                    _sleeping = true;
                    Monitor.Wait(_gate);
                }

                stopped = _stopped;
                (_queued, _running) = (_running, _queued);
                count = _queuedCount;
                _queuedCount = 0;
                if (_queued.Length < _running.Length)
                {
                    // Keep both arrays the size the busiest round needed, so swapping never shrinks the queue.
                    _queued = new IWriterWork[_running.Length];
                }
            }

            var running = _running;
            for (var i = 0; i < count; i++)
            {
                if (stopped)
                {
                    running[i].AbandonWriter();
                }
                else
                {
                    running[i].RunWriter();
                }

                running[i] = null!;
            }
        }
        while (!stopped);
    }
}
