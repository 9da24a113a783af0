using Herald.Diagnostics;
using Herald.Dispatch;
using Herald.Storage;
using Herald.Topics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Herald.Mercure;

/// <summary>
/// The hub: where a published update becomes one encoded frame handed to every subscriber it concerns.
/// Both the HTTP publish endpoint and application code (<see cref="IHeraldPublisher"/>) publish through here.
/// </summary>
/// <remarks>
/// It owns what an update passes through, and each part only hands on: the hub checks an update once
/// (<see cref="Prepare(Update, ReservedTopics)"/>) and appends it to its <see cref="Store"/>; the store hands what it stored to the hub's
/// <see cref="DeliverySink"/>, which encodes it once and dispatches it. Joins and leaves go the same way: the hub
/// registers them with <see cref="Presence"/> and announces them through the store; the sink gives each announcement
/// to presence and dispatches the subscription events presence returns.
/// </remarks>
internal sealed class MercureHub : IHeraldPublisher, IAsyncDisposable
{
    private readonly HeartbeatTimer _heartbeat;
    private readonly DeliverySink _sink;
    private readonly ILogger _logger;
    private volatile bool _stopping;
    private volatile ShutdownDrain? _drain;
    private string _path = ReservedTopics.DefaultPath;

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
        Reserved = ReservedTopics.For(Options, _path, pathBase: string.Empty);
        Matcher = matcher;
        Metrics = metrics;
        Writers = WriterPool.Create(Options);
        Dispatcher = new Dispatcher(matcher, Writers);
        _heartbeat = new HeartbeatTimer(Options.Heartbeat, Time);
        _logger = loggerFactory.CreateLogger<MercureHub>();
        Presence = new Presence(Options.Subscriptions);
        Telemetry = new HeraldMetrics(services.GetService<System.Diagnostics.Metrics.IMeterFactory>(), metrics, Time);
        Tail = new HistoryTail(Options, Time);
        _sink = new DeliverySink(Dispatcher, Presence, metrics, _logger, Telemetry, Tail);
        try
        {
            Store = storeFactory(services, _sink);
            HistoryReads = new SharedHistoryReads(Store);
        }
        catch
        {
            // A store that cannot be built (a malformed transport, say) leaves no writer threads or timer behind.
            _heartbeat.Dispose();
            Writers.Dispose();
            Telemetry.Dispose();
            Tracing.Dispose();
            throw;
        }
    }

    /// <summary>Who is subscribed to what (Mercure active subscriptions): fed by the store's announcements, through the sink.</summary>
    public Presence Presence { get; }

    /// <summary>
    /// Ends every stream cleanly (clients reconnect, to another node or after a restart). Streams never end by
    /// themselves, so without this a graceful shutdown would wait its whole timeout.
    /// </summary>
    public void CloseAll()
    {
        _drain ??= new ShutdownDrain(TimeSpan.Zero, Options.ShutdownReconnectSpread, Time);
        _stopping = true;
        foreach (var subscriber in Dispatcher.Snapshot())
        {
            subscriber.Close(CloseReason.Shutdown);
        }
    }

    /// <summary>
    /// A graceful shutdown's end of every stream: from now on subscriptions are refused (503, <c>Retry-After</c>), and the
    /// open streams get a <c>retry:</c> hint and close spread over <see cref="HeraldOptions.ShutdownDrain"/> (zero: at once,
    /// <see cref="CloseAll"/>). Publishing goes on until the store closes: an update acknowledged now is in history,
    /// and the clients resume it with Last-Event-ID. Cancelling <paramref name="cancellationToken"/> closes the rest at once.
    /// </summary>
    public Task DrainAsync(CancellationToken cancellationToken)
    {
        if (Options.ShutdownDrain <= TimeSpan.Zero)
        {
            CloseAll();
            return Task.CompletedTask;
        }

        var drain = new ShutdownDrain(Options.ShutdownDrain, Options.ShutdownReconnectSpread, Time);
        _drain = drain;

        // Stopping before the snapshot: a stream that registers after it sees the flag and closes itself.
        _stopping = true;
        var streams = Dispatcher.Snapshot();
        HubLog.DrainStarted(_logger, streams.Count, Options.ShutdownDrain);
        return drain.RunAsync(streams, cancellationToken);
    }

    /// <summary>The <c>Retry-After</c> (seconds) for a subscription refused because the hub is stopping.</summary>
    internal string RetryAfterSeconds => _drain?.RetryAfterSeconds ?? "1";

    public HeraldOptions Options { get; }

    /// <summary>The path the hub is mapped at (<c>MapHerald</c>), the end of its URL; 1.0 subscription topics start with it.</summary>
    public string Path
    {
        get => Presence.HubPath;
        internal set
        {
            Presence.HubPath = value;
            Reserved = ReservedTopics.For(Options, value, pathBase: string.Empty);
        }
    }

    /// <summary>The hub's own namespace for updates that come without a request (<see cref="IHeraldPublisher"/>, broadcasts).</summary>
    internal ReservedTopics Reserved { get; private set; }

    /// <summary>The hub's URL as <paramref name="request"/> reaches it (see <see cref="HubUrl"/>).</summary>
    public string UrlFor(Microsoft.AspNetCore.Http.HttpRequest request) => HubUrl.For(request, Options, Path);

    /// <summary>The clock stream deadlines are set and checked on.</summary>
    public TimeProvider Time { get; }

    public TopicMatcher Matcher { get; }

    public Dispatcher Dispatcher { get; }

    /// <summary>The hub's writer threads: subscribers get a loop at construction; stopped when the hub is disposed.</summary>
    public WriterPool Writers { get; }

    public HubMetrics Metrics { get; }

    /// <summary>The hub's instruments on the <c>Herald</c> meter.</summary>
    internal HeraldMetrics Telemetry { get; }

    /// <summary>The hub's spans on the <c>Herald</c> activity source.</summary>
    internal HeraldTracing Tracing { get; } = new();

    /// <summary>History: every update is appended here first; the store hands it back, in order, for dispatch.</summary>
    public IUpdateStore Store { get; }

    /// <summary>The newest updates with their frames, fed by the sink: what resumes are served from (<see cref="History"/>).</summary>
    internal HistoryTail Tail { get; }

    /// <summary>The store reads resumes make beyond <see cref="Tail"/>, shared by those that make the same one at once.</summary>
    internal SharedHistoryReads HistoryReads { get; }

    /// <summary>The hub's logger, for what its sessions report (<see cref="SubscriberEndLog"/>).</summary>
    internal ILogger Logger => _logger;

    /// <summary>Whether the hub is shutting down: streams that register now are closed at once.</summary>
    public bool IsStopping => _stopping;

    /// <summary>How many subscribers are connected to this node.</summary>
    public int SubscriberCount => Dispatcher.Count;

    /// <summary>
    /// The one place an update from outside the hub (HTTP, <see cref="IHeraldPublisher"/>, the app's broadcasts) is
    /// checked (<see cref="Update.Check"/>); gives it an id. What it returns goes to the store unchecked again.
    /// Throws <see cref="HeraldUpdateException"/> with the one-line reason.
    /// </summary>
    public static Update Prepare(Update update) => Prepare(update, ReservedTopics.Default);

    /// <summary>Checks <paramref name="update"/> with the hub's namespace <paramref name="reserved"/>; see <see cref="Prepare(Update)"/>.</summary>
    internal static Update Prepare(Update update, ReservedTopics reserved)
    {
        ArgumentNullException.ThrowIfNull(update);
        if (UpdateValidation.Check(update, reserved) is { } error)
        {
            throw new HeraldUpdateException(error);
        }

        return WithId(update);
    }

    /// <summary>The update with a fresh id if it has none.</summary>
    internal static Update WithId(Update update) => update.EventId is null ? update with { EventId = NewId() } : update;

    /// <summary>A fresh update or subscriber id: a time-ordered UUID, which keeps the history's id index cheap to insert into.</summary>
    public static string NewId() => Update.NewId();

    /// <summary>Stores the update (durably, with a durable store) and returns its id; dispatch follows from the store.</summary>
    /// <exception cref="HeraldUpdateException">The update is invalid, or names a topic in the hub's own namespace.</exception>
    /// <exception cref="Storage.StoreUnavailableException">The store cannot take it now: nothing was stored.</exception>
    public async ValueTask<string> PublishAsync(Update update, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(update);
        using var activity = Tracing.StartPublish(request: null, update.Topics is [var topic, ..] ? topic : null);
        var prepared = Prepare(update, Reserved);
        using var append = TimeAppend();
        var stored = await AppendAsync(prepared, cancellationToken).ConfigureAwait(false);
        return stored.Id;
    }

    /// <summary>Times and spans one store append, for as long as the caller holds it (<c>using var</c>).</summary>
    internal AppendTiming TimeAppend() => AppendTiming.Start(Telemetry, Tracing);

    /// <summary>
    /// Appends an update that went through <see cref="Prepare(Update)"/> (the publish endpoint prepares it as it parses
    /// the form, before the token's topics are checked) and returns the store's append as it is: no state machine of
    /// its own, one less per publish.
    /// </summary>
    internal ValueTask<StoredUpdate> AppendAsync(Update prepared, CancellationToken cancellationToken)
        => Store.AppendAsync(prepared, cancellationToken);

    /// <summary>
    /// Delivers an update to the subscribers connected to this node now, without storing it: for transient
    /// figures (the dashboard's) that nobody should replay. It never reaches other nodes of a cluster.
    /// </summary>
    public void Broadcast(Update update) => _sink.Deliver(Prepare(update, Reserved), DeliverySink.Transient);

    /// <summary>Called once the store has started: what it holds counts as dispatched (see <see cref="DeliverySink.Started"/>).</summary>
    internal void StoreStarted() => _sink.Started(Store.LastSequence);

    /// <summary>
    /// Registers a subscriber holding <paramref name="selectors"/> with presence and announces its join through the store
    /// (every node, this one included, hears it through its sink); <c>null</c> when presence is off. Each subscription's
    /// payload comes from <paramref name="claims"/> (<see cref="SubscriptionPayload"/>), its URL patterns resolving
    /// against <paramref name="hubUrl"/>.
    /// </summary>
    public Presence.SubscriberEntry? Join(IReadOnlyList<Selector> selectors, Security.MercureClaims? claims, string hubUrl)
    {
        var entry = Presence.Join(selectors, claims, Matcher, hubUrl);
        if (entry is not null)
        {
            _ = AnnounceAsync(entry, active: true);
        }

        return entry;
    }

    /// <summary>Removes a subscriber from presence and announces its leave, if it was registered.</summary>
    public void Leave(Presence.SubscriberEntry? entry)
    {
        if (Presence.Leave(entry))
        {
            _ = AnnounceAsync(entry!, active: false);
        }
    }

    private async Task AnnounceAsync(Presence.SubscriberEntry entry, bool active)
    {
        try
        {
            await Store.AnnounceAsync(Presence.Announcement(entry, active), CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is StoreUnavailableException or ObjectDisposedException or InvalidOperationException or OperationCanceledException)
        {
            // Presence is best effort: a join or leave lost while the store is down is not worth failing a stream for.
            HubLog.SubscriptionEventsNotSent(_logger, entry.Id, e.Message);
        }
    }

    /// <summary>The update's SSE frame for a replay from history; <c>null</c> when it cannot be framed (<see cref="DeliverySink.Encode"/>).</summary>
    public static byte[]? Encode(Update update) => DeliverySink.Encode(update);

    /// <summary>Starts the sweep (heartbeats, deadlines) for a stream.</summary>
    public void Track(Subscriber subscriber) => _heartbeat.Add(subscriber);

    public void Untrack(Subscriber subscriber) => _heartbeat.Remove(subscriber);

    /// <summary>Stops the sweep and the writer threads, then closes the store the hub built (it owns both).</summary>
    public async ValueTask DisposeAsync()
    {
        _heartbeat.Dispose();
        Writers.Dispose();
        await Store.DisposeAsync().ConfigureAwait(false);
        Telemetry.Dispose();
        Tracing.Dispose();
    }
}
