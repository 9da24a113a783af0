using Herald.Dispatch;
using Herald.Sse;
using Herald.Storage;
using Herald.Topics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Herald.Mercure;

/// <summary>
/// The hub: where a published update becomes one encoded frame handed to every subscriber it concerns.
/// Both the HTTP publish endpoint and application code (<see cref="IHeraldPublisher"/>) publish through here.
/// </summary>
internal sealed class MercureHub : IHeraldPublisher, IAsyncDisposable
{
    private readonly HeartbeatTimer _heartbeat;
    private volatile bool _stopping;

    /// <summary>
    /// Stream deadlines (token expiry, write timeout) run on <paramref name="time"/>: the app's <see cref="TimeProvider"/>
    /// when it registers one, so tests can pass a deadline instead of waiting for it.
    /// </summary>
    public MercureHub(
        IOptions<HeraldOptions> options,
        TopicMatcher matcher,
        HubMetrics metrics,
        UpdateStoreFactory storeFactory,
        IServiceProvider services,
        ILoggerFactory loggerFactory,
        TimeProvider? time = null)
    {
        Time = time ?? TimeProvider.System;
        Options = options.Value;
        Matcher = matcher;
        Metrics = metrics;
        Writers = WriterPool.Create(Options);
        Dispatcher = new Dispatcher(matcher, Writers);
        _heartbeat = new HeartbeatTimer(Options.Heartbeat, Time);
        Presence = new Presence(this, loggerFactory.CreateLogger<Presence>());
        Store = storeFactory(services, new DeliverySink(this, loggerFactory.CreateLogger<MercureHub>()));
    }

    /// <summary>Who is subscribed to what (Mercure active subscriptions): fed by the store's announcements.</summary>
    public Presence Presence { get; }

    /// <summary>
    /// Ends every stream cleanly (clients reconnect, to another node or after a restart). Streams never end by
    /// themselves, so without this a graceful shutdown would wait its whole timeout.
    /// </summary>
    public void CloseAll()
    {
        _stopping = true;
        foreach (var subscriber in Dispatcher.Snapshot())
        {
            subscriber.Close(CloseReason.ServerClosed);
        }
    }

    public HeraldOptions Options { get; }

    /// <summary>The clock stream deadlines are set and checked on.</summary>
    public TimeProvider Time { get; }

    public TopicMatcher Matcher { get; }

    public Dispatcher Dispatcher { get; }

    /// <summary>The hub's writer threads: subscribers get a loop at construction; stopped when the hub is disposed.</summary>
    public WriterPool Writers { get; }

    public HubMetrics Metrics { get; }

    /// <summary>History: every update is appended here first; the store hands it back, in order, for dispatch.</summary>
    public IUpdateStore Store { get; }

    /// <summary>Whether the hub is shutting down: streams that register now are closed at once.</summary>
    public bool IsStopping => _stopping;

    /// <summary>How many subscribers are connected to this node.</summary>
    public int SubscriberCount => Dispatcher.Count;

    /// <summary>
    /// Validates an update from outside the hub (HTTP, <see cref="IHeraldPublisher"/>, the app's broadcasts) and gives
    /// it an id. Throws <see cref="HeraldUpdateException"/> with a one-line reason (see <see cref="UpdateValidation.Check"/>).
    /// </summary>
    public static Update Prepare(Update update)
    {
        ArgumentNullException.ThrowIfNull(update);
        if (UpdateValidation.Check(update) is { } error)
        {
            throw new HeraldUpdateException(error);
        }

        return update.Id is null ? update with { Id = NewId() } : update;
    }

    /// <summary>A fresh update or subscriber id: a time-ordered UUID, which keeps the history's id index cheap to insert into.</summary>
    public static string NewId() => UpdateValidation.NewId();

    /// <summary>Stores the update (durably, with a durable store) and returns its id; dispatch follows from the store.</summary>
    /// <exception cref="HeraldUpdateException">The update is invalid, or names a topic in the hub's own namespace.</exception>
    /// <exception cref="Storage.StoreUnavailableException">The store cannot take it now: nothing was stored.</exception>
    public async ValueTask<string> PublishAsync(Update update, CancellationToken cancellationToken = default)
    {
        var stored = await AppendAsync(update, cancellationToken).ConfigureAwait(false);
        return stored.Id;
    }

    /// <summary>
    /// <see cref="PublishAsync"/> for the publish endpoint, without a state machine of its own (one less per
    /// publish): <see cref="Prepare(Update)"/> throws synchronously, then the store's append is returned as it is.
    /// </summary>
    internal ValueTask<StoredUpdate> AppendAsync(Update update, CancellationToken cancellationToken)
        => Store.AppendAsync(Prepare(update), cancellationToken);

    /// <summary>
    /// Delivers an update to the subscribers connected to this node now, without storing it: for transient
    /// figures (the dashboard's) that nobody should replay. It never reaches other nodes of a cluster.
    /// </summary>
    public void Broadcast(Update update) => Deliver(Prepare(update), Transient);

    /// <summary>The sequence of an update that is not in history: a subscriber catching up lets it through.</summary>
    private const long Transient = long.MaxValue;

    /// <summary>
    /// Delivers an event the hub made itself (a subscription event) to this node's subscribers, outside history.
    /// Not <see cref="Prepare"/>d: it is on the hub's own reserved path, which publishers may not use.
    /// </summary>
    internal void DeliverHubEvent(Update update) => Deliver(update, Transient);

    /// <summary>What the store hands back: every stored update once, in sequence order, and every announcement.</summary>
    private sealed class DeliverySink(MercureHub hub, ILogger logger) : IUpdateSink
    {
        public void OnStored(StoredUpdate update)
        {
            try
            {
                hub.Deliver(update.Update, update.Sequence);
            }
#pragma warning disable CA1031 // The update is stored; a failed delivery must not turn that into a failed publish.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                logger.LogError(ex, "Delivering update {Sequence} failed.", update.Sequence);
            }
        }

        public void OnAnnouncement(string announcement)
        {
            try
            {
                hub.Presence.OnAnnouncement(announcement);
            }
#pragma warning disable CA1031 // A failed subscription event must not fail the stream whose join or leave it announces.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                logger.LogError(ex, "Delivering a subscription event failed.");
            }
        }
    }

    /// <summary>Encodes the update once and queues it on every subscriber it concerns.</summary>
    private void Deliver(Update update, long sequence)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var frame = Encode(update);
        var delivered = Dispatcher.Dispatch(update.Topics, update.Private, frame, sequence);
        Metrics.RecordDispatch(delivered, System.Diagnostics.Stopwatch.GetElapsedTime(started));
    }

    /// <summary>The update's SSE frame.</summary>
    public static byte[] Encode(Update update) => SseFrame.Encode(update.Data, update.Type, update.Id, update.Retry);

    /// <summary>Starts the sweep (heartbeats, deadlines) for a stream.</summary>
    public void Track(Subscriber subscriber) => _heartbeat.Add(subscriber);

    public void Untrack(Subscriber subscriber) => _heartbeat.Remove(subscriber);

    /// <summary>Stops the sweep and the writer threads, then closes the store the hub built (it owns both).</summary>
    public async ValueTask DisposeAsync()
    {
        _heartbeat.Dispose();
        Writers.Dispose();
        await Store.DisposeAsync().ConfigureAwait(false);
    }
}
