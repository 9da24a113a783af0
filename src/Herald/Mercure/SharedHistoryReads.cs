using Herald.Storage;

namespace Herald.Mercure;

/// <summary>
/// The store reads resumes make beyond the <see cref="HistoryTail"/>, shared: concurrent resumes that look up the same
/// id share one <see cref="IUpdateStore.FindSequenceAsync"/>, and those that replay from the same position share one
/// page of <see cref="IUpdateStore.ReadAfterAsync"/>, its frames encoded once. So a storm of N subscribers resuming
/// from one id older than the tail costs one lookup and one read per page, not N.
/// </summary>
/// <remarks>
/// A shared call runs without the caller's cancellation (another caller may still want it; a page is bounded and the
/// stores time their calls out); each caller waits with its own. Only calls in flight are shared: once one completes
/// its result is dropped, so nothing here holds memory between storms.
/// </remarks>
internal sealed class SharedHistoryReads(IUpdateStore store)
{
    /// <summary>
    /// Most updates one shared read takes from the store: one SQLite page, two of the Redis store's 256-update pages (each
    /// taking one of its four history-read slots in turn).
    /// </summary>
    internal const int PageSize = 512;

    private readonly Lock _gate = new();
    private readonly Dictionary<string, Flight<long?>> _finds = new(StringComparer.Ordinal);
    private readonly Dictionary<long, Flight<Page>> _pages = [];
    private int _waiting;

    /// <summary>
    /// A page of history after a position: its updates in order, and how far it covers (<see cref="Through"/>: every
    /// stored update after the position up to there is in it).
    /// </summary>
    internal sealed record Page(HistoryTail.Entry[] Entries, long Through);

    /// <summary>How many callers have joined a shared call still in flight (tests wait for a storm to have gathered).</summary>
    internal int Waiting
    {
        get
        {
            lock (_gate)
            {
                return _waiting;
            }
        }
    }

    /// <summary>The sequence of the update with <paramref name="id"/> (<see cref="IUpdateStore.FindSequenceAsync"/>), one store call for all who ask at once.</summary>
    public Task<long?> FindAsync(string id, CancellationToken cancellationToken)
    {
        var flight = Join(_finds, id, out var first);
        if (first)
        {
            _ = FlyAsync(_finds, id, flight, () => store.FindSequenceAsync(id, CancellationToken.None).AsTask());
        }

        return flight.Result.Task.WaitAsync(cancellationToken);
    }

    /// <summary>
    /// Up to <see cref="PageSize"/> stored updates after <paramref name="after"/> and not above <paramref name="upTo"/>.
    /// A caller that joins a read already in flight from the same position gets that read's page: it may end below
    /// <paramref name="upTo"/> (read on from <see cref="Page.Through"/>) or go beyond it (skip what lies above).
    /// </summary>
    public Task<Page> ReadAsync(long after, long upTo, CancellationToken cancellationToken)
    {
        var flight = Join(_pages, after, out var first);
        if (first)
        {
            _ = FlyAsync(_pages, after, flight, () => ReadPageAsync(after, upTo));
        }

        return flight.Result.Task.WaitAsync(cancellationToken);
    }

    private Flight<T> Join<TKey, T>(Dictionary<TKey, Flight<T>> flights, TKey key, out bool first)
        where TKey : notnull
    {
        lock (_gate)
        {
            first = !flights.TryGetValue(key, out var flight);
            if (first)
            {
                flight = new Flight<T>();
                flights[key] = flight;
            }

            flight!.Waiters++;
            _waiting++;
            return flight;
        }
    }

    /// <summary>Ends a shared call: later callers start a new one; then its callers get the outcome.</summary>
    private void Land<TKey, T>(Dictionary<TKey, Flight<T>> flights, TKey key, Flight<T> flight)
        where TKey : notnull
    {
        lock (_gate)
        {
            flights.Remove(key);
            _waiting -= flight.Waiters;
        }
    }

    /// <summary>Runs one shared call, off the first caller's thread (a SQLite call runs synchronously), and hands its outcome to every caller.</summary>
    private async Task FlyAsync<TKey, T>(Dictionary<TKey, Flight<T>> flights, TKey key, Flight<T> flight, Func<Task<T>> call)
        where TKey : notnull
    {
        try
        {
            await Task.Yield();
            var result = await call().ConfigureAwait(false);
            Land(flights, key, flight);
            flight.Result.TrySetResult(result);
        }
#pragma warning disable CA1031 // Handed to every caller, who sees it as if it had called the store itself.
        catch (Exception e)
#pragma warning restore CA1031
        {
            Land(flights, key, flight);
            flight.Result.TrySetException(e);
        }
    }

    private async Task<Page> ReadPageAsync(long after, long upTo)
    {
        var entries = new List<HistoryTail.Entry>();
        await foreach (var stored in store.ReadAfterAsync(after, upTo, CancellationToken.None).ConfigureAwait(false))
        {
            entries.Add(HistoryTail.Entry.For(stored, MercureHub.Encode(stored.Update)));
            if (entries.Count == PageSize)
            {
                break;
            }
        }

        return new Page([.. entries], entries.Count == PageSize ? entries[^1].Sequence : upTo);
    }

    /// <summary>One store call in flight and how many callers wait for it (guarded by the owner's lock).</summary>
    private sealed class Flight<T>
    {
        public TaskCompletionSource<T> Result { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public int Waiters { get; set; }
    }
}
