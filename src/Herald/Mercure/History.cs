using System.Buffers;
using Herald.Dispatch;
using Herald.Storage;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Herald.Mercure;

/// <summary>Resuming a subscription: where to start replaying from, and the replay itself.</summary>
internal static class History
{
    public const string Earliest = "earliest";

    /// <summary>How many tail entries a replay copies at a time (the tail's lock is held for the copy only).</summary>
    private const int ReplayBuffer = 256;

    /// <summary>What a subscribe request asked of history.</summary>
    /// <param name="Requested">Whether the client sent <c>Last-Event-ID</c>, <c>last_event_id</c> or <c>lastEventID</c>.</param>
    /// <param name="AfterSequence">Replay the updates after this position (0: from the earliest kept).</param>
    /// <param name="ResponseLastEventId">
    /// The <c>Mercure-Last-Event-ID</c> (and 0.x <c>Last-Event-ID</c>) response header: the event just before the first one sent.
    /// </param>
    internal readonly record struct Resume(bool Requested, long AfterSequence, string? ResponseLastEventId);

    /// <summary>
    /// Finds where to resume from <paramref name="requested"/> (the <c>Last-Event-ID</c> header, else the
    /// <c>last_event_id</c> or <c>lastEventID</c> parameter; <c>null</c> or empty: no resume). An id history does not
    /// hold (never stored, or removed by retention) replays nothing, like the reference hub: the subscriber gets live
    /// updates and the response says <c>earliest</c> (as Mercure 1.0 requires), so the client can tell that it may have
    /// missed something without learning the id of any stored update.
    /// </summary>
    /// <remarks>
    /// The response names the requested id itself: it precedes the first event sent, and the client already knows it.
    /// A private update the subscriber may not read (<paramref name="mayRead"/>) counts as unknown, although Mercure 1.0
    /// ("Authorization on Event Replay") lets the cursor name one: answering otherwise would tell a subscriber that a
    /// guessed id (custom ids can be guessed) belongs to a private update, and replaying after it would say so too.
    /// </remarks>
    public static async ValueTask<Resume> ResolveAsync(string? requested, MercureHub hub, Func<Update, bool> mayRead, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(requested))
        {
            return new(false, 0, null);
        }

        // After a restart the first resume fills the tail from the store (one read, shared), and the storm after it is
        // served from memory.
        var store = hub.Store;
        await hub.Tail.WarmAsync(store, cancellationToken).ConfigureAwait(false);
        if (requested == Earliest)
        {
            return new(true, 0, Earliest);
        }

        // While the store reports itself down, resumes ask it as they always did (and are answered 503 when it cannot
        // say): a hub that cannot store or deliver updates should send clients elsewhere, not hold them on a dead stream.
        // A private update this subscriber may not read is looked up in the store like an unknown id, so the answer's
        // timing does not tell a guessed id of a recent private update from one never published.
        if (await IsHealthyAsync(store, cancellationToken).ConfigureAwait(false) && hub.Tail.Find(requested, store) is { } held && mayRead(held.Update))
        {
            return new(true, held.Sequence, requested);
        }

        // Older than the tail, unknown, or (in a cluster) not read back by this node yet: the store says, once for
        // every resume from this id at the same time.
        if (await hub.HistoryReads.FindAsync(requested, cancellationToken).ConfigureAwait(false) is { } known
            && await MayReadAsync(hub.HistoryReads, known, mayRead, cancellationToken).ConfigureAwait(false))
        {
            return new(true, known, requested);
        }

        // A subscription event's id (presence: never stored) names the update it came after; stored ids are tried first,
        // so an update a publisher gave such an id still resumes as the update it is.
        if (PresenceEventId.TryParse(requested, out var after))
        {
            return await AfterSubscriptionEventAsync(hub, requested, after, cancellationToken).ConfigureAwait(false);
        }

        return Unknown(store);
    }

    /// <summary>
    /// Resumes after the update numbered <paramref name="after"/>, where a subscription event fell, while history still
    /// holds that update (so nothing between it and the next ones was removed by retention); else as an unknown id.
    /// Before the first update (0) everything history holds is replayed, under <c>earliest</c>: retention may have
    /// removed some since. Whether the update at that position is private does not matter: the id names a position, not it.
    /// </summary>
    private static async ValueTask<Resume> AfterSubscriptionEventAsync(MercureHub hub, string requested, long after, CancellationToken cancellationToken)
    {
        if (after == 0)
        {
            return new(true, 0, Earliest);
        }

        if (after > hub.Store.LastSequence)
        {
            // Another node's event this node has not read that far yet (or a made-up position): the client holds
            // everything up to it, so resume there; ReplayAsync drops what the reader brings up to it later.
            return new(true, after, requested);
        }

        return await MayReadAsync(hub.HistoryReads, after, static _ => true, cancellationToken).ConfigureAwait(false)
            ? new(true, after, requested)
            : Unknown(hub.Store);
    }

    /// <summary>
    /// Unknown id: nothing to replay. The header says "earliest", never the newest stored id: that may be a private
    /// update this subscriber is not allowed to see, and its id alone would leak it.
    /// </summary>
    private static Resume Unknown(IUpdateStore store) => new(true, store.LastSequence, Earliest);

    /// <summary>What the store says of itself, from state it keeps anyway (see <see cref="IUpdateStore"/>, readiness); a store that says nothing is healthy.</summary>
    private static async ValueTask<bool> IsHealthyAsync(IUpdateStore store, CancellationToken cancellationToken)
        => store is not IHealthCheck health
            || (await health.CheckHealthAsync(new HealthCheckContext(), cancellationToken).ConfigureAwait(false)).Status != HealthStatus.Unhealthy;

    private static async ValueTask<bool> MayReadAsync(SharedHistoryReads reads, long sequence, Func<Update, bool> mayRead, CancellationToken cancellationToken)
    {
        var page = await reads.ReadAsync(sequence - 1, sequence, cancellationToken).ConfigureAwait(false);
        foreach (var entry in page.Entries)
        {
            if (entry.Sequence >= sequence)
            {
                return entry.Sequence == sequence && mayRead(entry.Update);
            }
        }

        // Removed by retention between the two reads: as unknown.
        return false;
    }

    /// <summary>
    /// Sends the stored updates after <paramref name="afterSequence"/> that concern the subscriber, then lets its
    /// held live frames through: the subscriber was registered before this started, so nothing falls between.
    /// </summary>
    /// <remarks>
    /// What the tail holds is sent from there, its frames shared; what is older comes from the store in pages shared
    /// with every resume reading the same range at the same time. Nothing here runs under the dispatcher's lock or on
    /// the store's writer: the tail is locked only to copy a buffer of references, and the subscriber's own queue
    /// paces the replay.
    /// </remarks>
    public static async Task ReplayAsync(MercureHub hub, TopicSubscriber subscriber, long afterSequence)
    {
        // Everything up to here can be read now; anything later reaches the subscriber live (held until the end).
        var store = hub.Store;
        var upTo = hub.Tail.UpTo(store);
        var cancellationToken = subscriber.Closing;
        var buffer = ArrayPool<HistoryTail.Entry>.Shared.Rent(ReplayBuffer);
        try
        {
            var cursor = afterSequence;
            while (cursor < upTo)
            {
                var taken = hub.Tail.Read(cursor, upTo, buffer, store, out var missingThrough);
                if (missingThrough > cursor)
                {
                    // A page reaching past the tail's oldest (when it is near): the tail may drop more of its oldest
                    // meanwhile, at the publishing rate, and a replay just behind it would chase it one read at a time.
                    var page = await hub.HistoryReads.ReadAsync(cursor, upTo, cancellationToken).ConfigureAwait(false);
                    await SendAsync(hub, subscriber, page.Entries, page.Entries.Length, upTo, cancellationToken).ConfigureAwait(false);
                    cursor = Math.Min(page.Through, upTo);
                    continue;
                }

                if (taken == 0)
                {
                    break;
                }

                cursor = buffer[taken - 1].Sequence;
                await SendAsync(hub, subscriber, buffer, taken, upTo, cancellationToken).ConfigureAwait(false);
                Array.Clear(buffer, 0, taken);
            }
        }
        finally
        {
            ArrayPool<HistoryTail.Entry>.Shared.Return(buffer, clearArray: true);
        }

        // Live only once the client has taken the replay: a live frame that found the queue still full of replayed ones
        // would cut the subscriber (overflow), and it would resume and replay again. Meanwhile live frames are held.
        if (subscriber.IsWriterBusy)
        {
            await subscriber.WhenIdleAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        // The client already holds everything up to the id it resumed from, even when this node's reader has not
        // delivered that far yet (a shared log: the id was found in Redis, but this node is behind): whatever the
        // reader delivers up to there later would be a duplicate.
        await subscriber.EndCatchUpAsync(Math.Max(upTo, afterSequence), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Queues the frames among <paramref name="entries"/> (up to <paramref name="upTo"/>) that concern the subscriber.</summary>
    private static async ValueTask SendAsync(MercureHub hub, TopicSubscriber subscriber, HistoryTail.Entry[] entries, int count, long upTo, CancellationToken cancellationToken)
    {
        for (var i = 0; i < count; i++)
        {
            var entry = entries[i];
            if (entry.Sequence > upTo)
            {
                return;
            }

            var update = entry.Update;
            if (entry.Frame is { } frame && hub.Dispatcher.Concerns(subscriber, update.Topics, update.Private))
            {
                // Waits while the client drains its queue: a long replay holds a bounded amount of memory.
                await subscriber.EnqueueAsync(frame, cancellationToken).ConfigureAwait(false);
            }
        }
    }
}
