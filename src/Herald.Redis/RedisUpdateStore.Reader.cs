using System.Diagnostics.Metrics;
using Herald.Storage;
using StackExchange.Redis;

namespace Herald.Redis;

/// <summary>The reader: follows both streams with <c>XREAD BLOCK</c> and hands every entry, in stream order, to the sink.</summary>
internal sealed partial class RedisUpdateStore
{
    // When (the store's clock's timestamp) the reader last asked for entries and got the end of the log, and whether it
    // still holds there: no failure since, no full batch since (one means more are waiting). See ReaderLag.
    private long _caughtUpAt;
    private volatile bool _atEnd;

    /// <summary>Where the reader-lag gauge's meter comes from (set by <c>UseRedis</c> from DI); null: a meter of its own.</summary>
    internal IMeterFactory? MeterFactory { get; init; }

    /// <summary>
    /// How far this node's reader is behind the shared log: zero while its last read reached the end of the log;
    /// otherwise the time since it last did (Redis unreachable, or a backlog being read). A read in flight when Redis
    /// goes away counts as caught up until it fails (at most <see cref="BlockFor"/> plus the transport's timeout).
    /// </summary>
    internal TimeSpan ReaderLag => _atEnd ? TimeSpan.Zero : _time.GetElapsedTime(Volatile.Read(ref _caughtUpAt));

    /// <summary>
    /// Follows the stream and hands each entry to the sink, in order, then releases the appends waiting for
    /// it. On any failure it waits (backoff) and asks again from the last entry it delivered.
    /// </summary>
    private async Task ReadLoopAsync(CancellationToken stopping)
    {
        var database = _reader!.GetDatabase();

        // Named like the hub's, so AddMeter("Herald") takes it. From the host's IMeterFactory when there is one (so the
        // gauge is scoped to that host, as the hub's instruments are): the factory owns that meter and may share it with
        // the hub's, so it is not disposed here; it lives as long as the container that owns this store. Without a
        // factory the meter is this loop's own and lives as long as what it measures.
        var meterOptions = new MeterOptions("Herald") { Version = typeof(RedisUpdateStore).Assembly.GetName().Version?.ToString() };
        using var ownMeter = MeterFactory is null ? new Meter(meterOptions) : null;
        var meter = ownMeter ?? MeterFactory!.Create(meterOptions);
        meter.CreateObservableGauge(
            "herald.cluster.reader.lag",
            () => ReaderLag.TotalSeconds,
            "s",
            "How far this node's reader is behind the cluster's shared log (0 while it has read to the end).");
        Volatile.Write(ref _caughtUpAt, _time.GetTimestamp());
        var blockMs = (long)BlockFor.TotalMilliseconds;
        var backoff = MinBackoff;
        var failing = false;
        while (!stopping.IsCancellationRequested)
        {
            RedisResult result;
            var asked = _time.GetTimestamp();
            try
            {
                if (Volatile.Read(ref _mustRejoin))
                {
                    // Redis may be back from a restart that lost entries this node read: check before reading on.
                    Volatile.Write(ref _mustRejoin, false);
                    await RejoinAsync(database).WaitAsync(stopping).ConfigureAwait(false);
                }

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
                Volatile.Write(ref _mustRejoin, true);
                _atEnd = false;
                if (!failing)
                {
                    RedisLog.ReadFailing(_logger, _transport.Display, Reason(ex));
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
                RedisLog.ReadingAgain(_logger, _transport.Display, LastSequence);
                failing = false;
            }

            backoff = MinBackoff;
            var more = !result.IsNull && Deliver(result);
            if (!more)
            {
                Volatile.Write(ref _caughtUpAt, asked);
            }

            _atEnd = !more;
        }
    }

    /// <summary>Hands what one read returned to the sink; returns whether a stream filled the batch (more are waiting).</summary>
    private bool Deliver(RedisResult result)
    {
        // RESP2: [[stream, [[entry id, [field, value, …]], …]], …], only the streams that had entries.
        var more = false;
        foreach (var streamResult in (RedisResult[])result!)
        {
            var stream = (RedisResult[])streamResult!;
            var entries = (RedisResult[])stream[1]!;
            more |= entries.Length >= ReadBatch;
            if ((string?)stream[0] == (string?)PresenceKey)
            {
                DeliverAnnouncements(entries);
            }
            else
            {
                DeliverUpdates(entries);
            }
        }

        return more;
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
                    if (IsJump(values))
                    {
                        RedisLog.NumberingJumped(_logger, _transport.Display, skipped);
                    }

                    last = skipped;
                    _readThroughId = null;
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
                RedisLog.Missed(_logger, last + 1, stored.Sequence - 1, _transport.Display);
            }

            last = stored.Sequence;
            _readThroughId = stored.Id;

            // Raised before the sink runs: a subscriber that reads LastSequence now replays up to here and
            // drops this entry when the sink offers it.
            Volatile.Write(ref _lastSequence, last);
            _sink.OnStored(stored);
        }

        ReleaseWaiting(last);
    }

    /// <summary>
    /// After an outage: makes sure the stream has not gone back behind what this node read, which happens when Redis
    /// restarts without the last writes it acknowledged (<c>appendfsync everysec</c> on a busy disk loses them even
    /// when only the process dies). The script makes numbering jump past this node's position, so no node numbers an
    /// update this reader would step over; what Redis lost is logged, never passed over silently, and so are updates
    /// a node that knew less numbered below this position before this reader came back.
    /// </summary>
    private async Task RejoinAsync(IDatabase database)
    {
        var position = LastSequence;
        if (position == 0)
        {
            return;
        }

        var reply = (RedisResult[])(await database.ScriptEvaluateAsync(RedisScripts.Rejoin, _keys, [position, _readThroughId ?? string.Empty, NumberingJump]).ConfigureAwait(false))!;
        var found = (string)reply[0]!;
        switch ((string?)reply[1])
        {
            case "behind":
                RedisLog.StreamWentBack(_logger, _transport.Display, position, found);
                break;
            case "renumbered":
                RedisLog.Renumbered(_logger, _transport.Display, position, found);
                break;
            case "foreign":
                RedisLog.SkippedForeign(_logger, found, StreamKey);
                break;
        }
    }

    /// <summary>Whether an entry is the marker numbering jumped past after Redis lost the stream's tail (see <see cref="RedisScripts.Append"/>).</summary>
    private static bool IsJump(NameValueEntry[] fields) => fields is [{ Name: var name }] && name == "j";

    private bool TryParse(string entryId, NameValueEntry[] fields, out StoredUpdate stored)
    {
        stored = null!;
        if (!TryParseSequence(entryId, out var sequence))
        {
            RedisLog.SkippedForeign(_logger, entryId, StreamKey);
            return false;
        }

        if (IsJump(fields))
        {
            // Not an update: replays step over it without a word; the reader reports it once.
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
            RedisLog.SkippedIncomplete(_logger, entryId, StreamKey);
            return false;
        }

        string[]? parsedTopics;
        try
        {
            parsedTopics = System.Text.Json.JsonSerializer.Deserialize(topics, RedisJsonContext.Default.StringArray);
        }
        catch (System.Text.Json.JsonException ex)
        {
            RedisLog.SkippedTopics(_logger, ex, entryId, StreamKey);
            return false;
        }

        if (parsedTopics is null || Array.IndexOf(parsedTopics, null) >= 0)
        {
            RedisLog.SkippedTopics(_logger, null, entryId, StreamKey);
            return false;
        }

        var update = new Update
        {
            EventId = id,
            Topics = parsedTopics,
            Data = data,
            Private = isPrivate,
            EventType = type,
            ReconnectionInterval = retry is { } ms ? TimeSpan.FromMilliseconds(ms) : null,
        };

        stored = new StoredUpdate(sequence, update, DateTimeOffset.FromUnixTimeMilliseconds(storedAt.Value));
        return true;
    }
}
