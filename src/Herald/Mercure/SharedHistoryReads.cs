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
    /// <summary>Most updates one shared read takes from the store (the SQLite and Redis stores read pages of this size).</summary>
    internal const int PageSize = 512;

    private readonly Lock _gate = new();
    private readonly Dictionary<string, Task<long?>> _finds = new(StringComparer.Ordinal);
    private readonly Dictionary<long, Task<Page>> _pages = [];
    private int _waiting;

    /// <summary>
    /// A page of history after a position: its updates in order, and how far it covers (<see cref="Through"/>: every
    /// stored update after the position up to there is in it).
    /// </summary>
    internal sealed record Page(HistoryTail.Entry[] Entries, long Through);

    /// <summary>How many callers wait for a shared call now (tests wait for a storm to have gathered).</summary>
    internal int Waiting => Volatile.Read(ref _waiting);

    /// <summary>The sequence of the update with <paramref name="id"/> (<see cref="IUpdateStore.FindSequenceAsync"/>), one store call for all who ask at once.</summary>
    public Task<long?> FindAsync(string id, CancellationToken cancellationToken)
    {
        Task<long?>? shared;
        TaskCompletionSource<long?>? mine = null;
        lock (_gate)
        {
            if (!_finds.TryGetValue(id, out shared))
            {
                mine = new TaskCompletionSource<long?>(TaskCreationOptions.RunContinuationsAsynchronously);
                shared = mine.Task;
                _finds[id] = shared;
            }
        }

        if (mine is not null)
        {
            _ = FindCoreAsync(id, mine);
        }

        return WaitAsync(shared, cancellationToken);
    }

    /// <summary>
    /// Up to <see cref="PageSize"/> stored updates after <paramref name="after"/> and not above <paramref name="upTo"/>.
    /// A caller that joins a read already in flight from the same position gets that read's page: it may end below
    /// <paramref name="upTo"/> (read on from <see cref="Page.Through"/>) or go beyond it (skip what lies above).
    /// </summary>
    public Task<Page> ReadAsync(long after, long upTo, CancellationToken cancellationToken)
    {
        Task<Page>? shared;
        TaskCompletionSource<Page>? mine = null;
        lock (_gate)
        {
            if (!_pages.TryGetValue(after, out shared))
            {
                mine = new TaskCompletionSource<Page>(TaskCreationOptions.RunContinuationsAsynchronously);
                shared = mine.Task;
                _pages[after] = shared;
            }
        }

        if (mine is not null)
        {
            _ = ReadCoreAsync(after, upTo, mine);
        }

        return WaitAsync(shared, cancellationToken);
    }

    private async Task<T> WaitAsync<T>(Task<T> shared, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _waiting);
        try
        {
            return await shared.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref _waiting);
        }
    }

    private async Task FindCoreAsync(string id, TaskCompletionSource<long?> result)
    {
        try
        {
            // Off the caller's thread: a SQLite lookup runs synchronously, and joiners must find this call in the map.
            await Task.Yield();
            var sequence = await store.FindSequenceAsync(id, CancellationToken.None).ConfigureAwait(false);
            Forget(id);
            result.TrySetResult(sequence);
        }
#pragma warning disable CA1031 // Handed to every caller, who sees it as if it had called the store itself.
        catch (Exception e)
#pragma warning restore CA1031
        {
            Forget(id);
            result.TrySetException(e);
        }
    }

    private async Task ReadCoreAsync(long after, long upTo, TaskCompletionSource<Page> result)
    {
        try
        {
            await Task.Yield();
            var entries = new List<HistoryTail.Entry>();
            await foreach (var stored in store.ReadAfterAsync(after, upTo, CancellationToken.None).ConfigureAwait(false))
            {
                entries.Add(HistoryTail.Entry.For(stored, MercureHub.Encode(stored.Update)));
                if (entries.Count == PageSize)
                {
                    break;
                }
            }

            var page = new Page([.. entries], entries.Count == PageSize ? entries[^1].Sequence : upTo);
            Forget(after);
            result.TrySetResult(page);
        }
#pragma warning disable CA1031 // Handed to every caller, who sees it as if it had called the store itself.
        catch (Exception e)
#pragma warning restore CA1031
        {
            Forget(after);
            result.TrySetException(e);
        }
    }

    private void Forget(string id)
    {
        lock (_gate)
        {
            _finds.Remove(id);
        }
    }

    private void Forget(long after)
    {
        lock (_gate)
        {
            _pages.Remove(after);
        }
    }
}
