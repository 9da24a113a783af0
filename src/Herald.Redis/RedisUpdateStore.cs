using System.Buffers;
using System.Globalization;
using System.Runtime.CompilerServices;
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
/// delivered, so every node catches up on what was stored meanwhile. What is acknowledged is as durable as
/// Redis makes it: run it with <c>appendonly yes</c>.
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
internal sealed class RedisUpdateStore : IUpdateStore
{
    private const int ReadBatch = 1000;
    private const int PageSize = 512;
    private const int TrimBatch = 1000;

    /// <summary>
    /// Announcements kept in their stream (approximately: <c>MAXLEN ~</c>). Only a node cut off from Redis reads old
    /// ones; one behind by more than this misses some joins and leaves, never an update.
    /// </summary>
    private const int PresenceMaxLength = 10_000;

    /// <summary>How long one <c>XREAD</c> waits for new entries before it asks again (and so notices a dead link).</summary>
    private static readonly TimeSpan BlockFor = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How long an append waits for its entry to come back through the reader. Only a Redis failure right after the
    /// write makes it that slow; the update is stored by then, so the append succeeds and dispatch follows when the
    /// reader has reconnected.
    /// </summary>
    private static readonly TimeSpan DeliveryWait = TimeSpan.FromSeconds(5);

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
    private ConnectionMultiplexer? _writer;
    private ConnectionMultiplexer? _reader;
    private Task _readLoop = Task.CompletedTask;
    private Task _retentionLoop = Task.CompletedTask;
    private long _lastSequence;
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

            // The reader's XREAD blocks on the server; its timeout must outlast the block.
            _reader = await ConnectAsync("herald-reader", BlockFor + _transport.Timeout).ConfigureAwait(false);
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

    public ValueTask<StoredUpdate> AppendAsync(Update update, CancellationToken cancellationToken)
    {
        // Refusals are thrown at once, as the contract says; only the Redis call is asynchronous.
        UpdateValidation.ThrowIfInvalid(update);
        ThrowIfNotRunning();
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<StoredUpdate>(cancellationToken);
        }

        var id = update.Id ?? UpdateValidation.NewId();
        update = update.Id is null ? update with { Id = id } : update;
        string topics;
        try
        {
            topics = TopicsJson.Serialize(update.Topics, new ArrayBufferWriter<byte>(256));
        }
        catch (ArgumentException ex)
        {
            // A topic that is not valid UTF-16 (a lone surrogate) cannot be stored.
            throw new ArgumentException("A topic of the update is not valid text.", nameof(update), ex);
        }

        var storedAt = _time.GetUtcNow().ToUnixTimeMilliseconds();
        var last = LastSequence;
        var values = new List<RedisValue>(16)
        {
            id,
            last > 0 ? EntryId(last + 1) : string.Empty,
            "s", storedAt,
            "i", id,
            "t", topics,
            "p", update.Private ? 1 : 0,
        };
        if (update.Data is not null)
        {
            values.Add("d");
            values.Add(update.Data);
        }

        if (update.Type is not null)
        {
            values.Add("y");
            values.Add(update.Type);
        }

        if (update.Retry is { } retry)
        {
            values.Add("r");
            values.Add((long)retry.TotalMilliseconds);
        }

        return WriteAsync(update, [.. values], DateTimeOffset.FromUnixTimeMilliseconds(storedAt));
    }

    private async ValueTask<StoredUpdate> WriteAsync(Update update, RedisValue[] values, DateTimeOffset storedAt)
    {
        var id = update.Id!;
        RedisResult result;
        try
        {
            // From here on the outcome is reported whatever the token says: the script may already have run.
            result = await Database.ScriptEvaluateAsync(RedisScripts.Append, _keys, values).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            throw Unavailable("cannot store updates right now", ex);
        }

        if (result.IsNull)
        {
            throw DuplicateUpdateIdException.For(id);
        }

        var stored = new StoredUpdate(ParseSequence((string)result!), update, storedAt);
        var delivered = WhenDelivered(stored.Sequence);
        if (!delivered.IsCompleted)
        {
            try
            {
                await delivered.WaitAsync(DeliveryWait, CancellationToken.None).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                _logger.LogWarning(
                    "Update {Sequence} is stored in Redis at {Redis} but this node has not read it back yet; it is dispatched once the reader catches up.",
                    stored.Sequence,
                    _transport.Display);
            }
        }

        return stored;
    }

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

    /// <summary>Removes what retention no longer keeps, oldest first, a batch per script call.</summary>
    internal async Task TrimAsync()
    {
        var through = _maxCount > 0 ? Math.Max(0, LastSequence - _maxCount) : 0;
        var cutoff = _maxAge > TimeSpan.Zero ? (_time.GetUtcNow() - _maxAge).ToUnixTimeMilliseconds() : 0;
        var database = Database;
        while (true)
        {
            var removed = (long)await database.ScriptEvaluateAsync(RedisScripts.Trim, _keys, [through, cutoff, TrimBatch]).ConfigureAwait(false);
            if (removed < TrimBatch)
            {
                return;
            }
        }
    }


    /// <summary>The writer connection's database; a call racing with shutdown gets the same error as one after it.</summary>
    private IDatabase Database =>
        (Volatile.Read(ref _writer) ?? throw new ObjectDisposedException(nameof(RedisUpdateStore))).GetDatabase();

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
                $"Cannot reach Redis at {_transport.Display} ({ConnectFailure(ex)}): start it, or fix --transport (Herald:Transport).",
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

    /// <summary>
    /// Follows the stream and hands each entry to the sink, in order, then releases the appends waiting for
    /// it. On any failure it waits (backoff) and asks again from the last entry it delivered.
    /// </summary>
    private async Task ReadLoopAsync(CancellationToken stopping)
    {
        var database = _reader!.GetDatabase();
        var blockMs = (long)BlockFor.TotalMilliseconds;
        var backoff = MinBackoff;
        var failing = false;
        while (!stopping.IsCancellationRequested)
        {
            RedisResult result;
            try
            {
                result = await database
                    .ExecuteAsync("XREAD", ["COUNT", ReadBatch, "BLOCK", blockMs, "STREAMS", StreamKey, PresenceKey, EntryId(LastSequence), _announcedThrough])
                    .WaitAsync(stopping)
                    .ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                // Any failure, not only the transport's own kinds: an exception that ended this loop would leave the
                // node deaf to the shared log for good while its appends still succeed.
                if (!failing)
                {
                    _logger.LogWarning("Reading updates from Redis at {Redis} failed ({Reason}); retrying until it is back.", _transport.Display, Reason(ex));
                    failing = true;
                }

                try
                {
                    await Task.Delay(backoff, _time, stopping).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                backoff = TimeSpan.FromTicks(Math.Min(MaxBackoff.Ticks, backoff.Ticks * 2));
                continue;
            }

            if (failing)
            {
                _logger.LogInformation("Reading updates from Redis at {Redis} again, from sequence {Sequence}.", _transport.Display, LastSequence);
                failing = false;
            }

            backoff = MinBackoff;
            if (!result.IsNull)
            {
                Deliver(result);
            }
        }
    }

    private void Deliver(RedisResult result)
    {
        // RESP2: [[stream, [[entry id, [field, value, …]], …]], …], only the streams that had entries.
        foreach (var streamResult in (RedisResult[])result!)
        {
            var stream = (RedisResult[])streamResult!;
            var entries = (RedisResult[])stream[1]!;
            if ((string?)stream[0] == (string?)PresenceKey)
            {
                DeliverAnnouncements(entries);
            }
            else
            {
                DeliverUpdates(entries);
            }
        }
    }

    private void DeliverAnnouncements(RedisResult[] entries)
    {
        foreach (var entryResult in entries)
        {
            var entry = (RedisResult[])entryResult!;
            _announcedThrough = (string)entry[0]!;
            var fields = (RedisResult[])entry[1]!;
            for (var i = 0; i + 1 < fields.Length; i += 2)
            {
                if ((string?)fields[i] == "a" && (string?)fields[i + 1] is { } announcement)
                {
                    _sink.OnAnnouncement(announcement);
                }
            }
        }
    }

    private void DeliverUpdates(RedisResult[] entries)
    {
        var last = LastSequence;
        foreach (var entryResult in entries)
        {
            var entry = (RedisResult[])entryResult!;
            var entryId = (string)entry[0]!;
            var fields = (RedisResult[])entry[1]!;
            var values = new NameValueEntry[fields.Length / 2];
            for (var i = 0; i < values.Length; i++)
            {
                values[i] = new NameValueEntry((RedisValue)fields[2 * i], (RedisValue)fields[(2 * i) + 1]);
            }

            if (!TryParse(entryId, values, out var stored))
            {
                // Not Herald's entry, or not one it can read: step over it, or the reader would stop here for good.
                if (TryParseSequence(entryId, out var skipped) && skipped > last)
                {
                    last = skipped;
                    Volatile.Write(ref _lastSequence, skipped);
                }

                continue;
            }

            if (stored.Sequence <= last)
            {
                continue;
            }

            if (stored.Sequence > last + 1 && last > 0)
            {
                // Redis numbers entries one by one, so a hole means retention trimmed them before this node read
                // them (it was cut off for longer than history lasts) or Redis lost its data.
                _logger.LogWarning(
                    "Updates {From} to {To} left Redis at {Redis} before this node read them; its subscribers did not get them.",
                    last + 1,
                    stored.Sequence - 1,
                    _transport.Display);
            }

            last = stored.Sequence;

            // Raised before the sink runs: a subscriber that reads LastSequence now replays up to here and
            // drops this entry when the sink offers it.
            Volatile.Write(ref _lastSequence, last);
            _sink.OnStored(stored);
        }

        ReleaseWaiting(last);
    }

    private bool TryParse(string entryId, NameValueEntry[] fields, out StoredUpdate stored)
    {
        stored = null!;
        if (!TryParseSequence(entryId, out var sequence))
        {
            _logger.LogWarning("Skipping stream entry {EntryId} in {Stream}: Herald did not write it.", entryId, StreamKey);
            return false;
        }

        string? id = null;
        string? topics = null;
        string? data = null;
        string? type = null;
        long? storedAt = null;
        long? retry = null;
        var isPrivate = false;
        foreach (var field in fields)
        {
            switch ((string?)field.Name)
            {
                case "i":
                    id = field.Value;
                    break;
                case "t":
                    topics = field.Value;
                    break;
                case "d":
                    data = field.Value;
                    break;
                case "y":
                    type = field.Value;
                    break;
                case "p":
                    isPrivate = field.Value == 1;
                    break;
                case "s":
                    storedAt = (long)field.Value;
                    break;
                case "r":
                    retry = (long)field.Value;
                    break;
            }
        }

        if (id is null || topics is null || storedAt is null)
        {
            _logger.LogWarning("Skipping stream entry {EntryId} in {Stream}: it lacks the fields of an update.", entryId, StreamKey);
            return false;
        }

        string[] parsedTopics;
        try
        {
            parsedTopics = TopicsJson.Parse(topics);
        }
        catch (System.Text.Json.JsonException ex)
        {
            _logger.LogWarning(ex, "Skipping stream entry {EntryId} in {Stream}: its topics are not a JSON array.", entryId, StreamKey);
            return false;
        }

        var update = new Update
        {
            Id = id,
            Topics = parsedTopics,
            Data = data,
            Private = isPrivate,
            Type = type,
            Retry = retry is { } ms ? TimeSpan.FromMilliseconds(ms) : null,
        };
        stored = new StoredUpdate(sequence, update, DateTimeOffset.FromUnixTimeMilliseconds(storedAt.Value));
        return true;
    }

    /// <summary>A task that completes once the reader has delivered <paramref name="sequence"/>.</summary>
    private Task WhenDelivered(long sequence)
    {
        lock (_waitGate)
        {
            if (_notifiedThrough >= sequence || _life.State == StoreState.Disposed)
            {
                return Task.CompletedTask;
            }

            var waiting = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiting.Enqueue(waiting, sequence);
            return waiting.Task;
        }
    }

    private void ReleaseWaiting(long through)
    {
        lock (_waitGate)
        {
            _notifiedThrough = Math.Max(_notifiedThrough, through);
            while (_waiting.TryPeek(out var waiting, out var sequence) && sequence <= through)
            {
                _waiting.Dequeue();
                waiting.TrySetResult();
            }
        }
    }

    private async Task RetainLoopAsync(CancellationToken stopping)
    {
        // Real time, whatever clock stamps the updates: the interval is how often to look, not an age.
        using var timer = new PeriodicTimer(CleanupInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(stopping).ConfigureAwait(false))
            {
                try
                {
                    await TrimAsync().ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is RedisException or TimeoutException)
                {
                    _logger.LogDebug(ex, "Removing old updates from Redis at {Redis} failed; retrying in {Interval}.", _transport.Display, CleanupInterval);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task CloseConnectionsAsync()
    {
        var reader = Interlocked.Exchange(ref _reader, null);
        var writer = Interlocked.Exchange(ref _writer, null);

        // The reader's blocked XREAD is abandoned; appends already sent (such as the subscription events of
        // streams closed by the shutdown) get their answers, so they are not reported failed after being stored.
        foreach (var (connection, complete) in new[] { (reader, false), (writer, true) })
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
