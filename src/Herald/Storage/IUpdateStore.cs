namespace Herald.Storage;

/// <summary>
/// The history of a hub: appends updates in one total order, replays them after a position, and hands every
/// new one to the <see cref="IUpdateSink"/> it was built with (see <see cref="UpdateStoreFactory"/>). Implemented in memory, on SQLite and on Redis Streams; one specification
/// test suite (<c>UpdateStoreSpec</c>) holds them all to the same rules.
/// </summary>
/// <remarks>
/// The hub subscribes by registering the subscriber first, then replaying <see cref="ReadAfterAsync"/>, then
/// switching to the frames the sink delivers, dropping any whose sequence the replay already covered (also
/// after the switch: a replay may read an update before the sink gets it). That is gap-free because a
/// store calls the sink only after the update is readable, and raises <see cref="LastSequence"/> before it
/// calls the sink.
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
    /// Stores <paramref name="update"/> and completes once it is durable (for SQLite: committed). The sink
    /// has been given it by the time the task completes. An update without an id gets a generated
    /// <c>urn:uuid:…</c>.
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
