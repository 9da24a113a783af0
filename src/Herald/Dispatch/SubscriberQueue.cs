namespace Herald.Dispatch;

/// <summary>
/// A subscriber's bounded queue of encoded frames, and the hand-over between the producers that fill it (the
/// dispatcher, heartbeats, an app's stream) and the one writer that drains it. Everything here is under one lock
/// held for a few instructions; nothing in it touches the connection.
/// </summary>
/// <remarks>
/// Nothing is allocated per message: the queue is a pair of arrays swapped between producers and the writer, so
/// the writer takes everything queued at once and a busy subscriber gets many events per write.
/// </remarks>
internal sealed class SubscriberQueue
{
    private const int InitialSize = 4;
    private const int ShrinkAbove = 64;

    private readonly object _gate = new();
    private readonly int _capacity;
    private readonly long _maxBytes;
    private byte[][] _pending = new byte[InitialSize][];
    private byte[][] _draining = new byte[InitialSize][];
    private int _pendingCount;
    private long _pendingBytes;
    private bool _scheduled;
    private bool _closed;
    private bool _waitingForSpace;
    private TaskCompletionSource? _spaceAvailable;
    private TaskCompletionSource? _idle;

    /// <summary>A queue that holds at most <paramref name="capacity"/> frames and <paramref name="maxBytes"/> bytes (one frame always fits).</summary>
    public SubscriberQueue(int capacity, long maxBytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _capacity = capacity;
        _maxBytes = maxBytes;
    }

    /// <summary>How many frames may wait.</summary>
    public int Capacity => _capacity;

    /// <summary>Whether the writer has work queued or in flight.</summary>
    public bool IsWriterBusy => Volatile.Read(ref _scheduled);

    /// <summary>Whether the queue is closed: it takes nothing more.</summary>
    public bool IsClosed => Volatile.Read(ref _closed);

    /// <summary>
    /// Queues a frame unless the queue is closed or full (<paramref name="full"/>: the caller cuts the subscriber).
    /// <paramref name="startWriter"/> comes back true when the writer was idle: the caller must schedule it.
    /// </summary>
    public bool TryAdd(byte[] frame, out bool startWriter, out bool full)
    {
        lock (_gate)
        {
            startWriter = false;
            full = false;
            if (_closed)
            {
                return false;
            }

            if (!FitsLocked(frame))
            {
                full = true;
                return false;
            }

            AppendLocked(frame);
            startWriter = !_scheduled;
            _scheduled = true;
            return true;
        }
    }

    /// <summary>
    /// Queues a frame, or when the queue is full gives the task that completes once the writer made room
    /// (<paramref name="wait"/>; try again then). False when the queue is closed.
    /// </summary>
    public bool TryAddOrWait(byte[] frame, out bool startWriter, out Task wait)
    {
        lock (_gate)
        {
            startWriter = false;
            wait = Task.CompletedTask;
            if (_closed)
            {
                return false;
            }

            if (FitsLocked(frame))
            {
                AppendLocked(frame);
                startWriter = !_scheduled;
                _scheduled = true;
            }
            else
            {
                _spaceAvailable ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                _waitingForSpace = true;
                wait = _spaceAvailable.Task;
            }

            return true;
        }
    }

    /// <summary>
    /// For the writer: takes everything queued (the batch stays the writer's until <see cref="FinishWrite"/>). Returns
    /// null when there is nothing to write or the queue is closed; the writer is then stopped and
    /// <paramref name="signal"/> is the idle waiter to complete. Otherwise <paramref name="signal"/> is the producer
    /// waiting for room, to complete now that there is.
    /// </summary>
    public byte[][]? TakeAll(out int count, out TaskCompletionSource? signal)
    {
        lock (_gate)
        {
            if (_pendingCount == 0 || _closed)
            {
                count = 0;
                signal = StopWriterLocked();
                return null;
            }

            var batch = _pending;
            count = _pendingCount;
            _pending = _draining;
            _draining = batch;
            _pendingCount = 0;
            _pendingBytes = 0;
            signal = null;
            if (_waitingForSpace)
            {
                _waitingForSpace = false;
                signal = _spaceAvailable;
                _spaceAvailable = null;
            }

            return batch;
        }
    }

    /// <summary>
    /// For the writer, once a batch is written (and cleared): true when more is queued and the writer goes on; else the
    /// writer is stopped and <paramref name="idle"/> is the waiter to complete.
    /// </summary>
    public bool FinishWrite(byte[][] batch, int count, out TaskCompletionSource? idle)
    {
        lock (_gate)
        {
            if (batch.Length > ShrinkAbove && count <= batch.Length / 8)
            {
                // A burst grew this array; give the memory back once traffic is light again, so a subscriber
                // that was once behind does not keep a large queue while it idles. Only the writer swaps
                // _draining (under the lock), so replacing it here is safe.
                _draining = new byte[InitialSize][];
            }

            if (_pendingCount == 0 || _closed)
            {
                idle = StopWriterLocked();
                return false;
            }

            idle = null;
            return true;
        }
    }

    /// <summary>Stops the writer (it failed or its stream ended); returns the idle waiter to complete.</summary>
    public TaskCompletionSource? StopWriter()
    {
        lock (_gate)
        {
            return StopWriterLocked();
        }
    }

    /// <summary>
    /// Closes the queue; true only for the first call. <paramref name="space"/> is a producer waiting for room, to
    /// release (it then finds the queue closed).
    /// </summary>
    public bool TryClose(out TaskCompletionSource? space)
    {
        lock (_gate)
        {
            space = null;
            if (_closed)
            {
                return false;
            }

            _closed = true;
            space = _spaceAvailable;
            _spaceAvailable = null;
            return true;
        }
    }

    /// <summary>Completes once the writer has nothing in flight.</summary>
    public Task WhenIdleAsync()
    {
        lock (_gate)
        {
            if (!_scheduled)
            {
                return Task.CompletedTask;
            }

            _idle ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return _idle.Task;
        }
    }

    /// <summary>For the dispatch benchmark: marks the writer as scheduled, so adds only queue, and drops what is queued.</summary>
    public void DetachWriterAndClear()
    {
        lock (_gate)
        {
            _scheduled = true;
            Array.Clear(_pending, 0, _pendingCount);
            _pendingCount = 0;
            _pendingBytes = 0;
        }
    }

    private bool FitsLocked(byte[] frame)
        => _pendingCount < _capacity && (_pendingBytes + frame.Length <= _maxBytes || _pendingCount == 0);

    private void AppendLocked(byte[] frame)
    {
        if (_pendingCount == _pending.Length)
        {
            Array.Resize(ref _pending, Math.Min(_pending.Length * 2, _capacity));
        }

        _pending[_pendingCount++] = frame;
        _pendingBytes += frame.Length;
    }

    private TaskCompletionSource? StopWriterLocked()
    {
        _scheduled = false;
        var idle = _idle;
        _idle = null;
        return idle;
    }
}
