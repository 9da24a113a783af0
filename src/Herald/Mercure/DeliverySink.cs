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
/// It never throws: a store calls it on its writer, under its own ordering lock, after the update is stored, and a
/// failed delivery must not turn a stored update into a failed publish.
/// </remarks>
internal sealed class DeliverySink(Dispatcher dispatcher, Presence presence, HubMetrics metrics, ILogger logger, HeraldMetrics? telemetry = null, HistoryTail? tail = null) : IUpdateSink
{
    /// <summary>The sequence of an update that is not in history: a subscriber catching up lets it through.</summary>
    public const long Transient = long.MaxValue;

    // With presence on, updates and subscription events are dispatched one at a time under this lock, and an event's id
    // names the last update dispatched before it (PresenceEventId): a single-node store calls OnStored on its writer and
    // OnAnnouncement on the announcing request's thread, and without the lock an update could reach a subscriber before
    // an event whose id says it came after. With presence off there are no events, and no lock on the publish path.
    private readonly Lock _order = new();
    private long _dispatchedSequence;

    public void OnStored(StoredUpdate update)
    {
        try
        {
            if (presence.Enabled)
            {
                lock (_order)
                {
                    Store(update);
                    _dispatchedSequence = update.Sequence;
                }
            }
            else
            {
                Store(update);
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
            lock (_order)
            {
                foreach (var hubEvent in presence.OnAnnouncement(announcement, _dispatchedSequence))
                {
                    Deliver(hubEvent, Transient);
                }
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
