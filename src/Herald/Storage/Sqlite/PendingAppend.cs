namespace Herald.Storage.Sqlite;

/// <summary>One queued append: the publisher awaits it, the writer loop claims, fills and completes it.</summary>
internal sealed class PendingAppend : TaskCompletionSource<StoredUpdate>
{
    private const int Queued = 0;
    private const int Claimed = 1;
    private const int Cancelled = 2;
    private int _state;
    private CancellationTokenRegistration _registration;

    public PendingAppend(Update update)
        : base(TaskCreationOptions.RunContinuationsAsynchronously)
    {
        Update = update;
    }

    public Update Update { get; }

    public StoredUpdate? Stored { get; set; }

    public Exception? Error { get; set; }

    public void WatchCancellation(CancellationToken cancellationToken)
    {
        if (cancellationToken.CanBeCanceled)
        {
            _registration = cancellationToken.UnsafeRegister(
                static (state, token) => ((PendingAppend)state!).Cancel(token),
                this);
        }
    }

    /// <summary>The writer takes it, unless the publisher gave up first; from here it is written whatever happens.</summary>
    public bool TryClaim()
    {
        if (Interlocked.CompareExchange(ref _state, Claimed, Queued) != Queued)
        {
            return false;
        }

        _registration.Dispose();
        return true;
    }

    public void Release() => _registration.Dispose();

    public void Complete()
    {
        if (Stored is { } stored)
        {
            TrySetResult(stored);
        }
        else
        {
            TrySetException(Error ?? new StoreUnavailableException("The update was not stored."));
        }
    }

    private void Cancel(CancellationToken token)
    {
        if (Interlocked.CompareExchange(ref _state, Cancelled, Queued) == Queued)
        {
            TrySetCanceled(token);
        }
    }
}
