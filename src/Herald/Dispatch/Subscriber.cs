using System.IO.Pipelines;

namespace Herald.Dispatch;

/// <summary>
/// One open event stream: its bounded queue of encoded frames (<see cref="SubscriberQueue"/>), the writer that
/// drains the queue to the connection on its <see cref="WriterLoop"/>, and how it ended (<see cref="CloseState"/>).
/// </summary>
/// <remarks>
/// The dispatcher only ever enqueues (a lock held for a few instructions); it never touches the socket.
/// The writer runs on the loop it was given at construction: it takes everything queued at once and writes it as
/// one write, so a busy subscriber gets many events per syscall and an idle one gets each event at once.
/// </remarks>
internal class Subscriber : IWriterWork
{
    private readonly SubscriberQueue _queue;
    private readonly SubscriberOutput _output;
    private readonly WriterLoop _loop;
    private readonly CloseState _close;
    private long _lastWriteTicks = Environment.TickCount64;

    /// <summary>Creates a subscriber writing to <paramref name="output"/>.</summary>
    /// <param name="output">The response body.</param>
    /// <param name="loop">The writer loop (of the hub's <see cref="WriterPool"/>) that runs its writer.</param>
    /// <param name="capacity">How many frames may wait before the subscriber is cut.</param>
    /// <param name="maxQueuedBytes">How many bytes may wait before the subscriber is cut.</param>
    /// <param name="abort">Called once when the stream is closed by the server, to abort the connection.</param>
    public Subscriber(PipeWriter output, WriterLoop loop, int capacity, long maxQueuedBytes = long.MaxValue, Action? abort = null)
        : this(new PipeOutput(output), loop, capacity, maxQueuedBytes, abort)
    {
    }

    /// <summary>Creates a subscriber writing to <paramref name="output"/>, its writer run by <paramref name="loop"/>.</summary>
    public Subscriber(SubscriberOutput output, WriterLoop loop, int capacity, long maxQueuedBytes = long.MaxValue, Action? abort = null)
    {
        ArgumentNullException.ThrowIfNull(loop);
        _queue = new SubscriberQueue(capacity, maxQueuedBytes);
        _output = output;
        _loop = loop;
        _close = new CloseState(abort);
    }

    /// <summary>How many frames may wait before the subscriber is cut.</summary>
    public int Capacity => _queue.Capacity;

    /// <summary>Completes with the reason once the stream is over.</summary>
    public Task<CloseReason> Completion => _close.Completion;

    /// <summary>Cancelled when the stream is closed.</summary>
    public CancellationToken Closing => _close.Token;

    /// <summary>The loop that runs this subscriber's writer.</summary>
    internal WriterLoop Loop => _loop;

    /// <summary>Whether the writer has work queued or in flight.</summary>
    public bool IsWriterBusy => _queue.IsWriterBusy;

    /// <summary>Whether the stream is closed.</summary>
    public bool IsClosed => _queue.IsClosed;

    /// <summary>Milliseconds (<see cref="Environment.TickCount64"/>) of the last write to the connection.</summary>
    public long LastWriteTicks => Volatile.Read(ref _lastWriteTicks);

    /// <summary>Set by the dispatcher while it fans out one update, so a subscriber matched twice gets it once.</summary>
    internal long DispatchStamp;

    /// <summary>
    /// Milliseconds (<see cref="HeartbeatTimer.Now"/> on the hub's clock) at which the server ends this stream (token
    /// expiry, write timeout); zero for never. Checked by the <see cref="HeartbeatTimer"/> sweep, not by a timer per connection.
    /// </summary>
    public long DeadlineTicks { get; set; }

    /// <summary>Why the stream ends at <see cref="DeadlineTicks"/>: its token expires, or the hub's write timeout.</summary>
    public CloseReason DeadlineReason { get; set; } = CloseReason.ServerClosed;

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
        if (_queue.TryAdd(frame, out startWriter, out var full))
        {
            return true;
        }

        if (full)
        {
            Close(CloseReason.Overflow);
        }

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
            if (!_queue.TryAddOrWait(frame, out var startWriter, out var wait))
            {
                throw new OperationCanceledException("The event stream is closed.", _close.Token);
            }

            if (startWriter)
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

    /// <summary>Ends the stream. Safe to call more than once and from any thread.</summary>
    public void Close(CloseReason reason)
    {
        if (!_queue.TryClose(out var space))
        {
            return;
        }

        space?.TrySetResult();
        _close.Begin(reason);
    }

    /// <summary>
    /// For the dispatch benchmark: marks the writer as already scheduled, so enqueues only queue, and drops what
    /// is queued. Measures the dispatcher's own cost apart from the writers'.
    /// </summary>
    internal void DetachWriterAndClear() => _queue.DetachWriterAndClear();

    /// <summary>
    /// Closes the stream (if nothing did yet) and completes once everything closing does has run (the
    /// cancellation, the abort) and the writer is idle: after this nothing touches the response, so the request may end.
    /// </summary>
    public async Task ShutdownAsync()
    {
        Close(CloseReason.ServerClosed);
        await _close.TornDown.ConfigureAwait(false);
        await WhenIdleAsync().ConfigureAwait(false);
    }

    /// <summary>Completes once the writer has nothing in flight: wait for it before the response ends.</summary>
    public Task WhenIdleAsync() => _queue.WhenIdleAsync();

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
    void IWriterWork.RunWriter()
    {
        var batch = _queue.TakeAll(out var count, out var signal);
        signal?.TrySetResult();
        if (batch is null)
        {
            return;
        }

        ValueTask<bool> write;
        try
        {
            write = _output.WriteAsync(batch, count, _close.Token);
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

    /// <summary>Its loop stopped (the hub is gone): the stream ends, and anyone waiting for the writer is released.</summary>
    void IWriterWork.AbandonWriter()
    {
        Close(CloseReason.ServerClosed);
        _queue.StopWriter()?.TrySetResult();
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
            _queue.StopWriter()?.TrySetResult();
            return;
        }

        if (_queue.FinishWrite(batch, count, out var idle))
        {
            _loop.Schedule(this);
        }
        else
        {
            idle?.TrySetResult();
        }
    }

    private void WriteFailed()
    {
        Close(CloseReason.WriteFailed);
        _queue.StopWriter()?.TrySetResult();
    }
}
