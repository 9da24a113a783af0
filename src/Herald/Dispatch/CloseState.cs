namespace Herald.Dispatch;

/// <summary>
/// How a subscriber's stream ended, and what ending it sets off: the reason its request waits for, the token its
/// producers watch, and the connection's abort when the client must be cut.
/// </summary>
internal sealed class CloseState
{
    private readonly TaskCompletionSource<CloseReason> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _closing = new();
    private readonly TaskCompletionSource _tornDown = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Action? _abort;

    /// <summary>Ends the stream through <paramref name="abort"/> when it is cut (overflow, failed write).</summary>
    public CloseState(Action? abort) => _abort = abort;

    /// <summary>Completes with the reason once the stream is over.</summary>
    public Task<CloseReason> Completion => _completion.Task;

    /// <summary>Cancelled when the stream is closed.</summary>
    public CancellationToken Token => _closing.Token;

    /// <summary>Completes once everything <see cref="Begin"/> set off has run (the cancellation, the abort).</summary>
    public Task TornDown => _tornDown.Task;

    /// <summary>Ends the stream for <paramref name="reason"/>. Called once, by whoever closed the queue first.</summary>
    public void Begin(CloseReason reason)
    {
        // Cancelling runs callbacks, and through them continuations, inline. Close is called from inside the
        // dispatcher (a queue overflow) and other sweeps, which must not run a stream's teardown in the middle of
        // their loop, so the cancellation and the abort happen on the thread pool.
        ThreadPool.UnsafeQueueUserWorkItem(
            static state =>
            {
                var (close, reason) = state;
                try
                {
                    close._closing.Cancel();
                    if (reason is CloseReason.Overflow or CloseReason.WriteFailed)
                    {
                        // The writer may be stuck flushing to a client that stopped reading: only an abort frees it.
                        close._abort?.Invoke();
                    }
                }
                catch (Exception e) when (e is AggregateException or ObjectDisposedException or InvalidOperationException)
                {
                    // A callback on Closing threw, or the connection is already gone: the stream is closed regardless.
                }
                finally
                {
                    close._tornDown.TrySetResult();
                }
            },
            (this, reason),
            preferLocal: false);
        _completion.TrySetResult(reason);
    }
}
