using Herald.Dispatch;
using Herald.Storage;

namespace Herald.Mercure;

/// <summary>Resuming a subscription: where to start replaying from, and the replay itself.</summary>
internal static class History
{
    public const string Earliest = "earliest";

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
    public static async ValueTask<Resume> ResolveAsync(string? requested, IUpdateStore store, Func<Update, bool> mayRead, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(requested))
        {
            return new(false, 0, null);
        }

        if (requested == Earliest)
        {
            return new(true, 0, Earliest);
        }

        if (await store.FindSequenceAsync(requested, cancellationToken).ConfigureAwait(false) is { } known
            && await MayReadAsync(store, known, mayRead, cancellationToken).ConfigureAwait(false))
        {
            return new(true, known, requested);
        }

        // Unknown id: nothing to replay. The header says "earliest", never the newest stored id: that may be a
        // private update this subscriber is not allowed to see, and its id alone would leak it.
        return new(true, store.LastSequence, Earliest);
    }

    private static async ValueTask<bool> MayReadAsync(IUpdateStore store, long sequence, Func<Update, bool> mayRead, CancellationToken cancellationToken)
    {
        await foreach (var stored in store.ReadAfterAsync(sequence - 1, sequence, cancellationToken).ConfigureAwait(false))
        {
            return mayRead(stored.Update);
        }

        // Removed by retention between the two reads: as unknown.
        return false;
    }

    /// <summary>
    /// Sends the stored updates after <paramref name="afterSequence"/> that concern the subscriber, then lets its
    /// held live frames through: the subscriber was registered before this started, so nothing falls between.
    /// </summary>
    public static async Task ReplayAsync(MercureHub hub, TopicSubscriber subscriber, long afterSequence)
    {
        // Everything up to here can be read now; anything later reaches the subscriber live (held until the end).
        var upTo = hub.Store.LastSequence;
        var cancellationToken = subscriber.Closing;
        if (upTo > afterSequence)
        {
            await foreach (var stored in hub.Store.ReadAfterAsync(afterSequence, upTo, cancellationToken).ConfigureAwait(false))
            {
                var update = stored.Update;
                if (hub.Dispatcher.Concerns(subscriber, update.Topics, update.Private) && MercureHub.Encode(update) is { } frame)
                {
                    // Waits while the client drains its queue: a long replay holds a bounded amount of memory.
                    await subscriber.EnqueueAsync(frame, cancellationToken).ConfigureAwait(false);
                }
            }
        }

        // The client already holds everything up to the id it resumed from, even when this node's reader has not
        // delivered that far yet (a shared log: the id was found in Redis, but this node is behind): whatever the
        // reader delivers up to there later would be a duplicate.
        await subscriber.EndCatchUpAsync(Math.Max(upTo, afterSequence), cancellationToken).ConfigureAwait(false);
    }
}
