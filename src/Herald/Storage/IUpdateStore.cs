namespace Herald.Storage;

/// <summary>
/// The history of a hub: appends updates in one total order, replays them after a position, and hands every
/// new one to the <see cref="IUpdateSink"/> it was built with (see <see cref="UpdateStoreFactory"/>; register one with
/// <c>AddHerald().UseStore(…)</c>). Implemented in memory, on SQLite and on Redis Streams; one specification test
/// suite (<c>UpdateStoreSpec</c>) holds them all to the same rules, and a new store should pass it too.
/// </summary>
/// <remarks>
/// <para>What a store must do:</para>
/// <list type="bullet">
/// <item><description>
/// Durable before <see cref="AppendAsync"/> returns: an acknowledged update survives what the store promises to
/// survive (a process crash for SQLite, a failover for Redis with <c>appendonly</c>). The hub answers the publisher only
/// then.
/// </description></item>
/// <item><description>
/// One total order: every update gets a <see cref="StoredUpdate.Sequence"/> above every earlier one, never reused,
/// also across restarts and after retention removed everything. Ids are unique among the updates kept.
/// </description></item>
/// <item><description>
/// The sink: <see cref="IUpdateSink.OnStored"/> once per update, in sequence order, only after the update is readable
/// through <see cref="ReadAfterAsync"/> and after <see cref="LastSequence"/> covers it: before <see cref="AppendAsync"/>
/// completes (the memory store), or right after on a thread of the store's own (SQLite acknowledges the publisher at
/// commit and then hands the update over, so a fan-out to many subscribers never holds up the next commit), or, a
/// shared store, once its own reader got the update back, which is how updates appended by other hubs arrive too.
/// The hub subscribes by registering the subscriber first, then replaying <see cref="ReadAfterAsync"/> up to
/// <see cref="LastSequence"/>, then taking the frames the sink delivers, dropping any whose sequence the replay already
/// covered; the order above is what makes that gap-free and duplicate-free.
/// The hub's sink does not throw and returns quickly, so a store may call it under its own ordering lock.
/// </description></item>
/// <item><description>
/// Announcements (<see cref="AnnounceAsync"/>): to <see cref="IUpdateSink.OnAnnouncement"/> of every hub sharing the
/// store, once each, in one order; never history.
/// </description></item>
/// </list>
/// <para>
/// What a store may rely on: the hub checks every update once, before it appends it (<see cref="Update.Check"/>:
/// topics, id, type, the hub's reserved namespace), and gives it an id, so a store needs no rules of its own about
/// what an update may hold. It still refuses an update without a topic (<see cref="ArgumentException"/>) and gives an
/// id (<see cref="Update.NewId"/>) to one without, for callers other than the hub. It keeps every field as given
/// (the spec suite round-trips control characters): what it hands back is delivered as it is, unchecked, so whoever
/// can write to the store is trusted as a publisher.
/// </para>
/// <para>
/// What its exceptions mean to a publisher: <see cref="StoreUnavailableException"/> 503 with <c>Retry-After</c>
/// (nothing was stored; the message is logged, never shown: it may name hosts and files);
/// <see cref="DuplicateUpdateIdException"/> 409 (throw <see cref="DuplicateUpdateIdException.For"/>);
/// <see cref="ArgumentException"/> 400; <see cref="OperationCanceledException"/> nothing stored. At start,
/// <see cref="HistoryStoreException"/> stops the hub with its one-line message, so say there what to do.
/// <see cref="StoreLifecycle"/> gives the before-start and after-dispose answers the contract asks for.
/// </para>
/// <para>
/// Readiness: a store that also implements <see cref="Microsoft.Extensions.Diagnostics.HealthChecks.IHealthCheck"/>
/// answers the hub's readiness check (<c>/readyz</c>, see <see cref="Herald.Diagnostics.HeraldHealthChecks"/>): unhealthy
/// while it cannot take an append. Answer from state the store keeps anyway, cheaply, never under its ordering lock and
/// without writing an update (probes come as often as anyone asks); a store that does not implement it counts as ready.
/// </para>
/// </remarks>
public interface IUpdateStore : IAsyncDisposable
{
    /// <summary>The sequence of the newest stored update; 0 while the store has never held one.</summary>
    long LastSequence { get; }

    /// <summary>
    /// Hands <paramref name="announcement"/> to the sink of every hub sharing this store, this one
    /// included, once each and in the order made. Announcements are not history: not numbered, never replayed, not
    /// counted by retention (so they can never push an update out), and nothing a publisher sends becomes one, which
    /// is why presence believes only these.
    /// </summary>
    /// <remarks>A single-node store calls the sink before this returns; a shared one (Redis) once its reader gets it back.</remarks>
    /// <exception cref="StoreUnavailableException">The store cannot take it now.</exception>
    ValueTask AnnounceAsync(string announcement, CancellationToken cancellationToken);

    /// <summary>Opens or creates the store (for SQLite: the file, WAL and the schema).</summary>
    /// <exception cref="HistoryStoreException">The store cannot be used (corrupt or foreign file, unwritable directory).</exception>
    Task StartAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Stores <paramref name="update"/> and completes once it is durable (for SQLite: committed). The sink gets it in
    /// order, before or right after the task completes (see the remarks above). An update without an id gets a
    /// generated <c>urn:uuid:…</c>.
    /// </summary>
    /// <remarks>
    /// Cancellation is honoured only while the update waits to be written; an <see cref="OperationCanceledException"/>
    /// therefore always means it was not stored. Once the write has begun the call completes with its outcome.
    /// </remarks>
    /// <exception cref="ArgumentException">The update has no topic (thrown at once, before anything is queued).</exception>
    /// <exception cref="DuplicateUpdateIdException">History already holds an update with this id (the hub answers 409).</exception>
    /// <exception cref="StoreUnavailableException">The write failed (disk full, I/O error): the hub answers 503; nothing acknowledged before is lost.</exception>
    /// <exception cref="InvalidOperationException">The store has not been started.</exception>
    /// <exception cref="ObjectDisposedException">The store has been disposed.</exception>
    ValueTask<StoredUpdate> AppendAsync(Update update, CancellationToken cancellationToken);

    /// <summary>The sequence of the update with this id, or <c>null</c> when it was never stored or retention removed it.</summary>
    /// <remarks>
    /// What the hub does with <c>null</c> is its policy: it replays nothing for an unknown <c>Last-Event-ID</c>
    /// (from <see cref="LastSequence"/> on) and answers <c>earliest</c>, never the newest id, which may be private.
    /// </remarks>
    ValueTask<long?> FindSequenceAsync(string id, CancellationToken cancellationToken);

    /// <summary>
    /// The updates with a sequence above <paramref name="afterSequence"/> (0: from the earliest kept) and, when
    /// <paramref name="upToSequence"/> is given, not above it, in sequence order. Read in pages, so a long replay
    /// holds no lock and no open read transaction between pages.
    /// </summary>
    IAsyncEnumerable<StoredUpdate> ReadAfterAsync(long afterSequence, long? upToSequence, CancellationToken cancellationToken);
}
