using System.IO.Pipelines;

namespace Herald.Dispatch;

/// <summary>Why a subscriber's stream ended.</summary>
internal enum CloseReason
{
    None,
    /// <summary>The client went away or the request was aborted.</summary>
    Disconnected,
    /// <summary>The client did not keep up: its queue filled, so it was cut (it resumes with Last-Event-ID).</summary>
    Overflow,
    /// <summary>The server ended the stream (token expiry, write timeout, shutdown).</summary>
    ServerClosed,
    /// <summary>Writing to the connection failed.</summary>
    WriteFailed,
}

/// <summary>
/// One open event stream: a bounded queue of encoded frames and the loop that writes them to the connection.
/// </summary>
/// <remarks>
/// The dispatcher only ever enqueues (a lock held for a few instructions); it never touches the socket.
/// The writer runs on a <see cref="WriterLoop"/> thread: it takes everything queued at once and writes it as
/// one write, so a busy subscriber gets many events per syscall and an idle one gets each event at once.
/// Nothing is allocated per message: the queue is a pair of arrays swapped between producer and writer.
/// </remarks>
internal class Subscriber
{
    private const int InitialQueueSize = 4;
    private const int ShrinkAbove = 64;

    private readonly object _gate = new();
    private readonly SubscriberOutput _output;
    private readonly WriterLoop _loop;
    private readonly int _capacity;
    private readonly long _maxQueuedBytes;
    private readonly TaskCompletionSource<CloseReason> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _closing = new();
    private byte[][] _pending = new byte[InitialQueueSize][];
    private byte[][] _draining = new byte[InitialQueueSize][];
    private int _pendingCount;
    private long _pendingBytes;
    private bool _scheduled;
    private bool _closed;
    private bool _waitingForSpace;
    private TaskCompletionSource? _spaceAvailable;
    private TaskCompletionSource? _idle;
    private readonly TaskCompletionSource _tornDown = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _lastWriteTicks = Environment.TickCount64;

    /// <summary>Creates a subscriber writing to <paramref name="output"/>.</summary>
    /// <param name="output">The response body.</param>
    /// <param name="capacity">How many frames may wait before the subscriber is cut.</param>
    /// <param name="maxQueuedBytes">How many bytes may wait before the subscriber is cut.</param>
    /// <param name="abort">Called once when the stream is closed by the server, to abort the connection.</param>
    public Subscriber(PipeWriter output, int capacity, long maxQueuedBytes = long.MaxValue, Action? abort = null)
        : this(new PipeOutput(output), capacity, maxQueuedBytes, abort)
    {
    }

    /// <summary>Creates a subscriber writing to <paramref name="output"/>.</summary>
    public Subscriber(SubscriberOutput output, int capacity, long maxQueuedBytes = long.MaxValue, Action? abort = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _output = output;
        _loop = WriterLoop.Next();
        _capacity = capacity;
        _maxQueuedBytes = maxQueuedBytes;
        Abort = abort;
    }

    private Action? Abort { get; }

    /// <summary>How many frames may wait before the subscriber is cut.</summary>
    public int Capacity => _capacity;

    /// <summary>Completes with the reason once the stream is over.</summary>
    public Task<CloseReason> Completion => _completion.Task;

    /// <summary>Cancelled when the stream is closed.</summary>
    public CancellationToken Closing => _closing.Token;

    /// <summary>The loop that runs this subscriber's writer.</summary>
    internal WriterLoop Loop => _loop;

    /// <summary>Whether the writer has work queued or in flight.</summary>
    public bool IsWriterBusy => Volatile.Read(ref _scheduled);

    /// <summary>Whether the stream is closed.</summary>
    public bool IsClosed => Volatile.Read(ref _closed);

    /// <summary>Milliseconds (<see cref="Environment.TickCount64"/>) of the last write to the connection.</summary>
    public long LastWriteTicks => Volatile.Read(ref _lastWriteTicks);

    /// <summary>Set by the dispatcher while it fans out one update, so a subscriber matched twice gets it once.</summary>
    internal long DispatchStamp;

    /// <summary>
    /// Milliseconds (<see cref="HeartbeatTimer.Now"/> on the hub's clock) at which the server ends this stream (token
    /// expiry, write timeout); zero for never. Checked by the <see cref="HeartbeatTimer"/> sweep, not by a timer per connection.
    /// </summary>
    public long DeadlineTicks { get; set; }

    /// <summary>
    /// Queues a frame. Returns false when the subscriber is closed, or when its queue is full, in which case
    /// it is closed with <see cref="CloseReason.Overflow"/> so it can resume from history.
    /// </summary>
    public bool TryEnqueue(byte[] frame)
    {
        if (!TryEnqueue(frame, out var startWriter))
        {
            return false;
        }

        if (startWriter)
        {
            _loop.Schedule(this);
        }

        return true;
    }

    /// <summary>
    /// Queues a frame without starting the writer: when <paramref name="startWriter"/> comes back true the caller
    /// must hand it to its <see cref="Loop"/> (the dispatcher hands over all it woke at once).
    /// </summary>
    internal bool TryEnqueue(byte[] frame, out bool startWriter)
    {
        lock (_gate)
        {
            startWriter = false;
            if (_closed)
            {
                return false;
            }

            if (_pendingCount == _capacity || _pendingBytes + frame.Length > _maxQueuedBytes && _pendingCount > 0)
            {
                goto Overflow;
            }

            Append(frame);
            startWriter = !_scheduled;
            _scheduled = true;
        }

        return true;

    Overflow:
        Close(CloseReason.Overflow);
        return false;
    }

    /// <summary>
    /// Queues a frame, waiting while the queue is full instead of closing: for app-authored streams
    /// (<c>MapEventStream</c>) where the producer can simply slow down.
    /// </summary>
    public async ValueTask EnqueueAsync(byte[] frame, CancellationToken cancellationToken)
    {
        while (true)
        {
            Task wait;
            bool schedule;
            lock (_gate)
            {
                if (_closed)
                {
                    throw new OperationCanceledException("The event stream is closed.", _closing.Token);
                }

                if (_pendingCount < _capacity && (_pendingBytes + frame.Length <= _maxQueuedBytes || _pendingCount == 0))
                {
                    Append(frame);
                    schedule = !_scheduled;
                    _scheduled = true;
                    wait = Task.CompletedTask;
                }
                else
                {
                    _spaceAvailable ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    _waitingForSpace = true;
                    wait = _spaceAvailable.Task;
                    schedule = false;
                }
            }

            if (schedule)
            {
                _loop.Schedule(this);
            }

            if (wait.IsCompleted)
            {
                return;
            }

            await wait.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private void Append(byte[] frame)
    {
        if (_pendingCount == _pending.Length)
        {
            Array.Resize(ref _pending, Math.Min(_pending.Length * 2, _capacity));
        }

        _pending[_pendingCount++] = frame;
        _pendingBytes += frame.Length;
    }

    /// <summary>Ends the stream. Safe to call more than once and from any thread.</summary>
    public void Close(CloseReason reason)
    {
        TaskCompletionSource? space;
        lock (_gate)
        {
            if (_closed)
            {
                return;
            }

            _closed = true;
            space = _spaceAvailable;
            _spaceAvailable = null;
        }

        space?.TrySetResult();

        // Cancelling runs callbacks, and through them continuations, inline. Close is called from inside the
        // dispatcher (a queue overflow) and other sweeps, which must not run a stream's teardown in the middle of
        // their loop, so the cancellation and the abort happen on the thread pool.
        ThreadPool.UnsafeQueueUserWorkItem(
            static state =>
            {
                var (subscriber, reason) = state;
                try
                {
                    subscriber._closing.Cancel();
                    if (reason is CloseReason.Overflow or CloseReason.WriteFailed)
                    {
                        // The writer may be stuck flushing to a client that stopped reading: only an abort frees it.
                        subscriber.Abort?.Invoke();
                    }
                }
                catch (Exception e) when (e is AggregateException or ObjectDisposedException or InvalidOperationException)
                {
                    // A callback on Closing threw, or the connection is already gone: the stream is closed regardless.
                }
                finally
                {
                    subscriber._tornDown.TrySetResult();
                }
            },
            (this, reason),
            preferLocal: false);
        _completion.TrySetResult(reason);
    }

    /// <summary>
    /// For the dispatch benchmark: marks the writer as already scheduled, so enqueues only queue, and drops what
    /// is queued. Measures the dispatcher's own cost apart from the writers'.
    /// </summary>
    internal void DetachWriterAndClear()
    {
        lock (_gate)
        {
            _scheduled = true;
            Array.Clear(_pending, 0, _pendingCount);
            _pendingCount = 0;
            _pendingBytes = 0;
        }
    }

    /// <summary>
    /// Closes the stream (if nothing did yet) and completes once everything closing does has run (the
    /// cancellation, the abort) and the writer is idle: after this nothing touches the response, so the request may end.
    /// </summary>
    public async Task ShutdownAsync()
    {
        Close(CloseReason.ServerClosed);
        await _tornDown.Task.ConfigureAwait(false);
        await WhenIdleAsync().ConfigureAwait(false);
    }

    /// <summary>Completes once the writer has nothing in flight: wait for it before the response ends.</summary>
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

    /// <summary>Writes out everything queued, then ends the stream cleanly (no abort).</summary>
    public async Task CompleteAsync()
    {
        await WhenIdleAsync().ConfigureAwait(false);
        Close(CloseReason.ServerClosed);
        await WhenIdleAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// Called by the <see cref="WriterLoop"/>: writes everything queued as one write. When the write completes at
    /// once (the usual case) and more arrived meanwhile, the subscriber goes to the back of the loop's line; when
    /// the connection must be waited for, the wait happens off the loop and the subscriber comes back after it.
    /// </summary>
    internal void RunWriter()
    {
        byte[][] batch;
        int count;
        TaskCompletionSource? space = null;
        lock (_gate)
        {
            if (_pendingCount == 0 || _closed)
            {
                StopWriterLocked()?.TrySetResult();
                return;
            }

            batch = _pending;
            count = _pendingCount;
            _pending = _draining;
            _draining = batch;
            _pendingCount = 0;
            _pendingBytes = 0;
            if (_waitingForSpace)
            {
                _waitingForSpace = false;
                space = _spaceAvailable;
                _spaceAvailable = null;
            }
        }

        space?.TrySetResult();
        ValueTask<bool> write;
        try
        {
            write = _output.WriteAsync(batch, count, _closing.Token);
        }
        catch (Exception)
        {
            WriteFailed();
            return;
        }

        if (write.IsCompletedSuccessfully)
        {
            AfterWrite(batch, count, write.Result);
        }
        else
        {
            _ = AwaitWriteAsync(write, batch, count);
        }
    }

    private async Task AwaitWriteAsync(ValueTask<bool> write, byte[][] batch, int count)
    {
        bool open;
        try
        {
            open = await write.ConfigureAwait(false);
        }
        catch (Exception)
        {
            WriteFailed();
            return;
        }

        AfterWrite(batch, count, open);
    }

    private void AfterWrite(byte[][] batch, int count, bool open)
    {
        Array.Clear(batch, 0, count);
        Volatile.Write(ref _lastWriteTicks, Environment.TickCount64);
        if (!open)
        {
            // A failed write ends this stream only; the dispatcher and other subscribers never see it.
            Close(CloseReason.Disconnected);
            StopWriter();
            return;
        }

        lock (_gate)
        {
            if (batch.Length > ShrinkAbove && count <= batch.Length / 8)
            {
                // A burst grew this array; give the memory back once traffic is light again, so a subscriber
                // that was once behind does not keep a large queue while it idles. Only the writer swaps
                // _draining (under the lock), so replacing it here is safe.
                _draining = new byte[InitialQueueSize][];
            }

            if (_pendingCount == 0 || _closed)
            {
                StopWriterLocked()?.TrySetResult();
                return;
            }
        }

        _loop.Schedule(this);
    }

    private void WriteFailed()
    {
        Close(CloseReason.WriteFailed);
        StopWriter();
    }

    private TaskCompletionSource? StopWriterLocked()
    {
        _scheduled = false;
        var idle = _idle;
        _idle = null;
        return idle;
    }

    private void StopWriter()
    {
        TaskCompletionSource? idle;
        lock (_gate)
        {
            idle = StopWriterLocked();
        }

        idle?.TrySetResult();
    }
}
