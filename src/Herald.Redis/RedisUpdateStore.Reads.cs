using System.Runtime.CompilerServices;
using Herald.Storage;
using StackExchange.Redis;

namespace Herald.Redis;

/// <summary>Reads: an id's position and the history after a position, a page per round trip.</summary>
internal sealed partial class RedisUpdateStore
{
    public async ValueTask<long?> FindSequenceAsync(string id, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(id);
        ThrowIfNotRunning();
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            var result = await Database.ScriptEvaluateAsync(RedisScripts.Find, _keys, [id]).ConfigureAwait(false);
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
        var database = Database;
        var upTo = upToSequence is { } bound ? EntryId(bound) : "+";
        var after = Math.Max(0, afterSequence);
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (upToSequence is { } limit && after >= limit)
            {
                yield break;
            }

            StreamEntry[] page;
            try
            {
                // Exclusive start "(": one round trip per page, no cursor or lock held on the server between pages.
                page = await database.StreamRangeAsync(StreamKey, "(" + EntryId(after), upTo, PageSize).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                throw Unavailable("cannot read history right now", ex);
            }

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
}
