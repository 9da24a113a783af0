namespace Herald.Storage;

/// <summary>
/// The life every asynchronous store goes through (created → starting → started → disposed), changed only by
/// compare-and-swap so a dispose racing a start is seen by one side or the other. A store built on it answers as the
/// <see cref="IUpdateStore"/> contract (and its spec suite) demands: <see cref="InvalidOperationException"/> before
/// it is started, <see cref="ObjectDisposedException"/> after it is disposed, a second start refused.
/// </summary>
/// <param name="storeName">The store's name, for <see cref="ObjectDisposedException"/>.</param>
public sealed class StoreLifecycle(string storeName)
{
    private int _state;

    /// <summary>Where the store is now.</summary>
    public StoreState State => (StoreState)Volatile.Read(ref _state);

    /// <summary>Created → starting, or throws when the store was started or disposed before.</summary>
    public void BeginStart()
    {
        if (!Move(StoreState.Created, StoreState.Starting))
        {
            throw new InvalidOperationException("The store has already been started or disposed.");
        }
    }

    /// <summary>A start that failed goes back to created (the caller may fix the cause and start again); false if disposed meanwhile.</summary>
    public bool UndoStart() => Move(StoreState.Starting, StoreState.Created);

    /// <summary>Starting → started; false when the store was disposed while it was starting.</summary>
    public bool CompleteStart() => Move(StoreState.Starting, StoreState.Started);

    /// <summary>Marks the store disposed and returns the state it was in.</summary>
    public StoreState Dispose() => (StoreState)Interlocked.Exchange(ref _state, (int)StoreState.Disposed);

    /// <summary>Throws unless the store is started: <see cref="InvalidOperationException"/> before, <see cref="ObjectDisposedException"/> after dispose.</summary>
    public void ThrowIfNotRunning()
    {
        switch (State)
        {
            case StoreState.Created or StoreState.Starting:
                throw new InvalidOperationException("The store has not been started.");
            case StoreState.Disposed:
                throw new ObjectDisposedException(storeName);
        }
    }

    private bool Move(StoreState from, StoreState to)
        => Interlocked.CompareExchange(ref _state, (int)to, (int)from) == (int)from;
}
