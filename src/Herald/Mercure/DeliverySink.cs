using Herald.Diagnostics;
using Herald.Dispatch;
using Herald.Sse;
using Herald.Storage;
using Microsoft.Extensions.Logging;

namespace Herald.Mercure;

/// <summary>
/// The hub's delivery side, the <see cref="IUpdateSink"/> its store is built with: every stored update once, in
/// sequence order, and every announcement. An update is encoded once here and the frame handed to every subscriber
/// it concerns; presence and the metrics are fed as plain consumers on the way. Nothing here calls the store or the
/// hub back, so an update's way reads one direction: hub → store → this sink → dispatcher.
/// </summary>
/// <remarks>
/// It never throws: a store calls it on its writer or fan-out thread (SQLite), or its reader (Redis), possibly under its
/// own ordering lock, after the update is stored, and a failed delivery must not turn a stored update into a failed
/// publish.
/// </remarks>
internal sealed class DeliverySink(Dispatcher dispatcher, Presence presence, HubMetrics metrics, ILogger logger, HeraldMetrics? telemetry = null, HistoryTail? tail = null) : IUpdateSink
{
    /// <summary>The sequence of an update that is not in history: a subscriber catching up lets it through.</summary>
    public const long Transient = long.MaxValue;

    // The newest update whose dispatch has completed: a subscription event's id names it (PresenceEventId), read before
    // the event is dispatched, so every update up to it reached the subscriber first and resuming from the event loses
    // nothing. A cluster node calls OnStored and OnAnnouncement from its one reader, so the order there is exact; a
    // single-node store calls OnAnnouncement on the announcing request's thread, and an update whose dispatch overlaps
    // an event's may then be sent again to a subscriber resuming from that event (never lost). On SQLite this number
    // trails the store's newest by what its fan-out still holds (at most 4096 updates, usually none): an event can name
    // an older position than updates the client already replayed, and resuming from it sends those again (still never
    // lost). No lock: what a client subscribes with (up to MaxTopicsPerSubscription events an announcement) must not
    // hold up the publish path.
    private long _dispatchedSequence;

    /// <summary>What the store held when it started counts as dispatched: nothing before it will be.</summary>
    public void Started(long lastSequence)
    {
        var seen = Volatile.Read(ref _dispatchedSequence);
        while (lastSequence > seen)
        {
            var was = Interlocked.CompareExchange(ref _dispatchedSequence, lastSequence, seen);
            if (was == seen)
            {
                return;
            }

            seen = was;
        }
    }

    public void OnStored(StoredUpdate update)
    {
        try
        {
            Store(update);
            if (presence.Enabled)
            {
                // After the dispatch: an event read this number only once the update was queued on every subscriber.
                Volatile.Write(ref _dispatchedSequence, update.Sequence);
            }
        }
#pragma warning disable CA1031 // The update is stored; a failed delivery must not turn that into a failed publish.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            HubLog.DeliveryFailed(logger, ex, update.Sequence);
        }
    }

    private void Store(StoredUpdate update)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var frame = Encode(update.Update);

        // Into the tail before the dispatch: a resume registered before the dispatch reads the tail's end after
        // registering, so it replays this update or holds its live frame (see HistoryTail).
        tail?.Add(update, frame);
        Dispatch(update.Update, update.Sequence, frame, started);
        telemetry?.Dispatched(update.StoredAt);
    }

    /// <summary>Presence turns a join or leave into its subscription events; they go to this node's subscribers, outside history.</summary>
    public void OnAnnouncement(string announcement)
    {
        if (!presence.Enabled)
        {
            return;
        }

        try
        {
            foreach (var hubEvent in presence.OnAnnouncement(announcement, Volatile.Read(ref _dispatchedSequence)))
            {
                Deliver(hubEvent, Transient);
            }
        }
#pragma warning disable CA1031 // A failed subscription event must not fail the stream whose join or leave it announces.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            HubLog.SubscriptionEventFailed(logger, ex);
        }
    }

    /// <summary>
    /// Encodes the update once and queues it on every subscriber it concerns. The update was checked where it came in
    /// (<see cref="Update.Check"/>), or the hub made it, so it is encoded without checking its fields again.
    /// </summary>
    public void Deliver(Update update, long sequence)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        Dispatch(update, sequence, Encode(update), started);
    }

    private void Dispatch(Update update, long sequence, byte[]? encoded, long started)
    {
        if (encoded is not { } frame)
        {
            HubLog.Unframable(logger, sequence);
            return;
        }

        var delivered = dispatcher.Dispatch(update.Topics, update.Private, frame, sequence);
        metrics.RecordDispatch(delivered, System.Diagnostics.Stopwatch.GetElapsedTime(started));
    }

    /// <summary>
    /// The update's SSE frame, or <c>null</c> when its id or type would break the framing. Updates that came in through
    /// the hub passed <see cref="Update.Check"/>, but a store hands back what it holds, and the store contract is public:
    /// a shared log (Redis) or a store written elsewhere may hold an id or type no publisher could send, which must not
    /// become extra fields or events in every subscriber's stream. The guard is two scans of short strings per update,
    /// never per subscriber.
    /// </summary>
    public static byte[]? Encode(Update update) =>
        SseFrame.Check(update.EventId, update.EventType) is null
            ? SseFrame.EncodeValidated(update.Data, update.EventType, update.EventId, update.ReconnectionInterval)
            : null;
}
