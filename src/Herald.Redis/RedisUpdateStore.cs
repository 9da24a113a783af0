using System.Globalization;
using Herald.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;

namespace Herald.Redis;

/// <summary>
/// History shared by every node of a cluster, in one Redis stream: an update published on any node reaches the
/// subscribers of every node, in the same order everywhere, and its id resumes a subscription on any node.
/// </summary>
/// <remarks>
/// <para>
/// Append is one script call (<see cref="RedisScripts.Append"/>): it refuses a duplicate id, adds the entry and
/// indexes its id, atomically, so two nodes can never both store one id. Redis numbers the entry (<c>0-N</c>); N
/// is the update's sequence on every node, which is why a <c>Last-Event-ID</c> from one node works on another.
/// </para>
/// <para>
/// Dispatch never comes from the append: each node runs one reader that follows the stream with
/// <c>XREAD BLOCK</c> on a connection of its own and hands every entry, in stream order, to the sink. A node
/// therefore delivers its own updates exactly like the others' — once, in the one order — and
/// <see cref="LastSequence"/> only moves when the reader has passed an entry, which keeps the hub's replay gap-free.
/// An append waits until its own entry came back through the reader (usually as soon as the reply), so a publish
/// is dispatched locally by the time it is acknowledged, as with the other stores.
/// </para>
/// <para>
/// When Redis goes away, appends fail at once with <see cref="StoreUnavailableException"/> (503: the publisher
/// retries) because commands are not queued while disconnected, and a hung Redis fails them after
/// <see cref="RedisTransport.Timeout"/>. The reader retries with backoff and resumes after the last entry it
/// delivered, so every node catches up on what was stored meanwhile.
/// </para>
/// <para>
/// What is acknowledged is as durable as Redis makes it: run it with <c>appendonly yes</c> and
/// <c>appendfsync always</c>. With <c>everysec</c> (Redis's default) Redis answers before its write reaches the
/// append-only file whenever a background fsync is slow, and a crash of Redis alone (not only of the machine) then
/// loses the last seconds of acknowledged updates. Whatever Redis loses, numbering never goes back: an append
/// that finds the stream ending below what its node read, and a reader back from an outage that finds it so
/// (<see cref="RedisScripts.Rejoin"/>), make numbering jump <see cref="NumberingJump"/> past it, so no update
/// acknowledged after the loss takes a sequence a node or a resuming subscriber already passed; the loss is logged.
/// </para>
/// <para>
/// History is read (resumes: <see cref="FindSequenceAsync"/>, <see cref="ReadAfterAsync"/>) on a third connection, a
/// bounded number of pages at a time (<see cref="HistoryReadsInFlight"/>). Replies on one connection come back in the
/// order asked, so on the writer's connection a reconnect storm's megabytes of pages made appends and announcements
/// wait behind them past their timeout (measured: 2,000 subscribers, one node killed, 14 MB of replies queued ahead of
/// an append; publishes and resumes failed with 503 and kept failing as clients retried). Bounded, a page waits
/// for a turn without a timeout running and is then answered within milliseconds; nothing else waits behind pages.
/// </para>
/// <para>
/// Retention trims the stream from its oldest end in small atomic batches (<see cref="RedisScripts.Trim"/>) that
/// drop the ids from the index too; every node runs it and the work is idempotent.
/// </para>
/// <para>
/// Announcements (presence) go to a stream of their own, capped at <see cref="PresenceMaxLength"/> entries and
/// followed by the same <c>XREAD</c>: they never take a sequence or a place in history, so no number of joins and
/// leaves can push an update out, and an update published on the subscriptions path can never pass for one.
/// </para>
/// </remarks>
internal sealed partial class RedisUpdateStore : IUpdateStore
{
    private const int ReadBatch = 1000;
    private const int PageSize = 256;

    /// <summary>
    /// History pages a node asks Redis for at once, over every resume it serves: enough to keep the connection busy,
    /// few enough that a page's reply never queues behind more than a few others (about 100 KB each at 400-byte updates).
    /// </summary>
    private const int HistoryReadsInFlight = 4;
    private const int TrimBatch = 1000;

    /// <summary>
    /// Announcements kept in their stream (approximately: <c>MAXLEN ~</c>). Only a node cut off from Redis reads old
    /// ones; one behind by more than this misses some joins and leaves, never an update.
    /// </summary>
    private const int PresenceMaxLength = 10_000;

    /// <summary>
    /// How far numbering jumps past what a node knows when it finds that Redis lost the stream's tail. Other nodes
    /// may have read further than the one that notices, by as much as their readers lagged when Redis went down;
    /// the jump must exceed that. Its cost: count-based retention keeps that many fewer updates once.
    /// </summary>
    internal const long NumberingJump = 10_000;

    /// <summary>How long one <c>XREAD</c> waits for new entries before it asks again (and so notices a dead link).</summary>
    private static readonly TimeSpan BlockFor = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How long an append waits for its entry to come back through the reader. Only a Redis failure right after the
    /// write makes it that slow; the update is stored by then, so the append succeeds and dispatch follows when the
    /// reader has reconnected.
    /// </summary>
    private static readonly TimeSpan DeliveryWait = TimeSpan.FromSeconds(5);

    /// <summary>The longest a history page waits for a turn: a storm's worth of pages, never a hung Redis's for ever.</summary>
    private TimeSpan HistoryTurnWait => _transport.Timeout * 10;

    private static readonly TimeSpan MinBackoff = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(2);

    private readonly RedisTransport _transport;
    private readonly RedisKey[] _keys;
    private readonly long _maxCount;
    private readonly TimeSpan _maxAge;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();

    // Appends waiting for the reader to pass their sequence, lowest first.
    private readonly Lock _waitGate = new();
    private readonly PriorityQueue<TaskCompletionSource, long> _waiting = new();
    private readonly StoreLifecycle _life = new(nameof(RedisUpdateStore));
    private readonly SemaphoreSlim _historyTurns = new(HistoryReadsInFlight, HistoryReadsInFlight);
    private ConnectionMultiplexer? _writer;
    private ConnectionMultiplexer? _reader;
    private ConnectionMultiplexer? _history;
    private Task _readLoop = Task.CompletedTask;
    private Task _retentionLoop = Task.CompletedTask;
    private long _lastSequence;

    // The id of the update at LastSequence (null: unknown), which tells RejoinAsync whether Redis still holds what
    // this node read there. Only the reader touches it.
    private string? _readThroughId;

    // Set when the reader's link to Redis broke (a failed read, or the client reconnected between two reads): the
    // reader runs RejoinAsync before it reads on.
    private bool _mustRejoin;

    // The highest sequence an append of this node was given (written under _waitGate); see Known.
    private long _appended;
    private readonly IUpdateSink _sink;

    // The reader's position in the announcement stream (only the reader touches it once started).
    private string _announcedThrough = "0-0";

    // The sink has been given every update up to here (LastSequence moves just before each call).
    private long _notifiedThrough;

    public RedisUpdateStore(HeraldOptions options, RedisTransport transport, IUpdateSink sink, TimeProvider? time = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentNullException.ThrowIfNull(sink);
        _sink = sink;
        _transport = transport;
        _keys = [new RedisKey(StreamKeyFor(transport.Prefix)), new RedisKey(IdsKeyFor(transport.Prefix))];
        PresenceKey = new RedisKey(PresenceKeyFor(transport.Prefix));
        _maxCount = options.HistoryMaxCount;
        _maxAge = options.HistoryMaxAge;
        _time = time ?? TimeProvider.System;
        _logger = logger ?? NullLogger.Instance;
    }

    public long LastSequence => Volatile.Read(ref _lastSequence);

    /// <summary>The stream's key. The braces are a hash tag: both keys live on one shard of a Redis Cluster, as the scripts need.</summary>
    public RedisKey StreamKey => _keys[0];

    /// <summary>How often retention looks for entries to remove. Short in tests.</summary>
    internal TimeSpan CleanupInterval { get; init; } = TimeSpan.FromSeconds(5);

    internal static string StreamKeyFor(string prefix) => "{" + prefix + "}:updates";

    internal static string IdsKeyFor(string prefix) => "{" + prefix + "}:ids";

    /// <summary>The announcement stream's key (same hash tag: one <c>XREAD</c> follows both streams).</summary>
    internal static string PresenceKeyFor(string prefix) => "{" + prefix + "}:presence";

    /// <summary>The announcement stream's key.</summary>
    public RedisKey PresenceKey { get; }

    public async ValueTask AnnounceAsync(string announcement, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(announcement);
        ThrowIfNotRunning();
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            await Database.ExecuteAsync("XADD", [PresenceKey, "MAXLEN", "~", PresenceMaxLength, "*", "a", announcement]).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            throw Unavailable("cannot announce right now", ex);
        }
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _life.BeginStart();

        try
        {
            _writer = await ConnectAsync("herald-writer", _transport.Timeout).ConfigureAwait(false);
            _history = await ConnectAsync("herald-history", _transport.Timeout).ConfigureAwait(false);

            // The reader's XREAD blocks on the server; its timeout must outlast the block.
            _reader = await ConnectAsync("herald-reader", BlockFor + _transport.Timeout).ConfigureAwait(false);
            _reader.ConnectionRestored += (_, _) => Volatile.Write(ref _mustRejoin, true);
            cancellationToken.ThrowIfCancellationRequested();
            _notifiedThrough = await ReadLastGeneratedAsync().ConfigureAwait(false);
            _announcedThrough = await ReadLastAnnouncementAsync().ConfigureAwait(false);
            Volatile.Write(ref _lastSequence, _notifiedThrough);
        }
        catch
        {
            await CloseConnectionsAsync().ConfigureAwait(false);
            _life.UndoStart();
            throw;
        }

        _readLoop = Task.Run(() => ReadLoopAsync(_stopping.Token), CancellationToken.None);
        if (_maxCount > 0 || _maxAge > TimeSpan.Zero)
        {
            _retentionLoop = Task.Run(() => RetainLoopAsync(_stopping.Token), CancellationToken.None);
        }

        if (!_life.CompleteStart())
        {
            await _stopping.CancelAsync().ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        var previous = _life.Dispose();
        if (previous == StoreState.Disposed)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        await _readLoop.ConfigureAwait(false);
        await _retentionLoop.ConfigureAwait(false);
        ReleaseWaiting(long.MaxValue);
        await CloseConnectionsAsync().ConfigureAwait(false);
    }

    /// <summary>The writer connection's database; a call racing with shutdown gets the same error as one after it.</summary>
    private IDatabase Database =>
        (Volatile.Read(ref _writer) ?? throw new ObjectDisposedException(nameof(RedisUpdateStore))).GetDatabase();

    /// <summary>The history connection's database (resumes read there), with the same answer during shutdown.</summary>
    private IDatabase HistoryDatabase =>
        (Volatile.Read(ref _history) ?? throw new ObjectDisposedException(nameof(RedisUpdateStore))).GetDatabase();

    private void ThrowIfNotRunning() => _life.ThrowIfNotRunning();

    private async Task<ConnectionMultiplexer> ConnectAsync(string clientName, TimeSpan commandTimeout)
    {
        try
        {
            return await ConnectionMultiplexer.ConnectAsync(_transport.ConnectionOptions(clientName, commandTimeout)).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            throw new HistoryStoreException(
                $"Cannot reach Redis at {_transport.Display} ({ConnectFailure(ex)}): start it, or fix the Herald:Transport setting.",
                ex);
        }
    }

    /// <summary>Where numbering stands: the stream's last entry id, which Redis keeps even when retention emptied it.</summary>
    private async Task<long> ReadLastGeneratedAsync()
    {
        var database = Database;
        try
        {
            var type = await database.KeyTypeAsync(StreamKey).ConfigureAwait(false);
            if (type == RedisType.None)
            {
                return 0;
            }

            if (type != RedisType.Stream)
            {
                throw Foreign($"holds a {type.ToString().ToLowerInvariant()}");
            }

            var info = await database.StreamInfoAsync(StreamKey).ConfigureAwait(false);
            return TryParseSequence(info.LastGeneratedId.ToString(), out var last)
                ? last
                : throw Foreign("holds entries Herald did not write");
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            throw new HistoryStoreException($"Cannot read the update stream from Redis at {_transport.Display} ({Reason(ex)}): check that it is up.", ex);
        }

        HistoryStoreException Foreign(string what) => new(
            $"Redis key '{StreamKey}' at {_transport.Display} {what}, not Herald's update stream: choose another key prefix (redis://…?prefix=NAME).");
    }

    /// <summary>Where the announcement stream stands: this node hears the announcements made from now on.</summary>
    private async Task<string> ReadLastAnnouncementAsync()
    {
        try
        {
            var last = await Database.StreamRangeAsync(PresenceKey, "-", "+", 1, Order.Descending).ConfigureAwait(false);
            return last.Length == 0 ? "0-0" : last[0].Id.ToString();
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            throw new HistoryStoreException($"Cannot read the announcement stream from Redis at {_transport.Display} ({Reason(ex)}): check that it is up.", ex);
        }
    }

    private async Task CloseConnectionsAsync()
    {
        var reader = Interlocked.Exchange(ref _reader, null);
        var history = Interlocked.Exchange(ref _history, null);
        var writer = Interlocked.Exchange(ref _writer, null);

        // The reader's blocked XREAD and history pages are abandoned; appends already sent (such as the subscription
        // events of streams closed by the shutdown) get their answers, so they are not reported failed after being stored.
        foreach (var (connection, complete) in new[] { (reader, false), (history, false), (writer, true) })
        {
            if (connection is not null)
            {
                await connection.CloseAsync(allowCommandsToComplete: complete).ConfigureAwait(false);
                await connection.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private StoreUnavailableException Unavailable(string what, Exception ex) =>
        new($"Redis at {_transport.Display} {what} ({Reason(ex)}).", ex);

    private static string EntryId(long sequence) => "0-" + sequence.ToString(CultureInfo.InvariantCulture);

    private static long ParseSequence(string entryId) =>
        TryParseSequence(entryId, out var sequence) ? sequence : throw new FormatException($"'{entryId}' is not a Herald stream entry id.");

    /// <summary>Herald's entry ids are <c>0-N</c>; anything else was written by someone else.</summary>
    private static bool TryParseSequence(string? entryId, out long sequence)
    {
        sequence = 0;
        return entryId is not null
            && entryId.StartsWith("0-", StringComparison.Ordinal)
            && long.TryParse(entryId.AsSpan(2), NumberStyles.None, CultureInfo.InvariantCulture, out sequence);
    }

    /// <summary>Why a connection failed, in a few words: the client's own message suggests settings that do not apply here.</summary>
    private static string ConnectFailure(Exception ex)
    {
        for (var inner = ex; inner is not null; inner = inner.InnerException)
        {
            if (inner is System.Net.Sockets.SocketException or System.Security.Authentication.AuthenticationException)
            {
                return Reason(inner);
            }
        }

        return ex is RedisConnectionException connection
            ? connection.FailureType switch
            {
                ConnectionFailureType.AuthenticationFailure => "authentication failed",
                ConnectionFailureType.UnableToConnect or ConnectionFailureType.UnableToResolvePhysicalConnection => "no answer",
                var other => other.ToString(),
            }
            : Reason(ex);
    }

    private static string Reason(Exception ex) => ex.Message.Split('\n')[0].TrimEnd('.', ' ', '\r');
}
