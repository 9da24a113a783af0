using System.Runtime.CompilerServices;
using Herald.Storage;
using StackExchange.Redis;

namespace Herald.Redis;

/// <summary>
/// Reads: an id's position and the history after a position, a page per round trip, on the history connection and a
/// bounded number of pages at a time (see the class remarks).
/// </summary>
internal sealed partial class RedisUpdateStore
{
    public async ValueTask<long?> FindSequenceAsync(string id, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(id);
        ThrowIfNotRunning();
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            var result = await HistoryDatabase.ScriptEvaluateAsync(RedisScripts.Find, _keys, [id]).ConfigureAwait(false);
            return result.IsNull ? null : ParseSequence((string)result!);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            throw Unavailable("cannot look up an update id right now", ex);
        }
    }

    public async IAsyncEnumerable<StoredUpdate> ReadAfterAsync(
        long afterSequence,
        long? upToSequence,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ThrowIfNotRunning();
        var database = HistoryDatabase;
        var upTo = upToSequence is { } bound ? EntryId(bound) : "+";
        var after = Math.Max(0, afterSequence);
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (upToSequence is { } limit && after >= limit)
            {
                yield break;
            }

            var page = await ReadPageAsync(database, after, upTo, cancellationToken).ConfigureAwait(false);
            foreach (var entry in page)
            {
                if (TryParse(entry.Id.ToString(), entry.Values, out var stored))
                {
                    yield return stored;
                }
            }

            if (page.Length < PageSize)
            {
                yield break;
            }

            after = ParseSequence(page[^1].Id.ToString());
        }
    }

    /// <summary>
    /// One page after <paramref name="after"/>, once a turn is free. Waiting for a turn is not Redis being slow, so no
    /// command timeout runs meanwhile; the wait is bounded all the same (<see cref="HistoryTurnWait"/>), so a hung Redis
    /// fails resumes with 503 (the client retries) instead of holding them for ever.
    /// </summary>
    private async Task<StreamEntry[]> ReadPageAsync(IDatabase database, long after, RedisValue upTo, CancellationToken cancellationToken)
    {
        if (!await _historyTurns.WaitAsync(HistoryTurnWait, cancellationToken).ConfigureAwait(false))
        {
            throw new StoreUnavailableException($"Redis at {_transport.Display} is too busy to read history right now (no turn within {HistoryTurnWait.TotalSeconds:F0} s).");
        }

        try
        {
            // Exclusive start "(": one round trip per page, no cursor or lock held on the server between pages.
            return await database.StreamRangeAsync(StreamKey, "(" + EntryId(after), upTo, PageSize).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            throw Unavailable("cannot read history right now", ex);
        }
        finally
        {
            _historyTurns.Release();
        }
    }
}
