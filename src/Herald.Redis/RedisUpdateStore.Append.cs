using Herald.Storage;
using StackExchange.Redis;

namespace Herald.Redis;

/// <summary>Appending: one script call per update (refuses a duplicate id, adds the entry, indexes the id), then a wait for the reader to pass it.</summary>
internal sealed partial class RedisUpdateStore
{
    public ValueTask<StoredUpdate> AppendAsync(Update update, CancellationToken cancellationToken)
    {
        // Refusals are thrown at once, as the contract says; only the Redis call is asynchronous.
        // The hub hands over only updates that passed its rules (Update.Check); this guards a direct caller.
        ArgumentNullException.ThrowIfNull(update);
        if (update.Topics is not { Count: > 0 })
        {
            throw new ArgumentException("An update needs at least one topic.", nameof(update));
        }

        ThrowIfNotRunning();
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<StoredUpdate>(cancellationToken);
        }

        var id = update.EventId ?? Update.NewId();
        update = update.EventId is null ? update with { EventId = id } : update;
        string topics;
        try
        {
            topics = System.Text.Json.JsonSerializer.Serialize(update.Topics, RedisJsonContext.Default.IReadOnlyListString);
        }
        catch (ArgumentException ex)
        {
            // A topic that is not valid UTF-16 (a lone surrogate) cannot be stored.
            throw new ArgumentException("A topic of the update is not valid text.", nameof(update), ex);
        }

        var storedAt = _time.GetUtcNow().ToUnixTimeMilliseconds();
        var values = new List<RedisValue>(16)
        {
            id,
            Known,
            NumberingJump,
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

        if (update.EventType is not null)
        {
            values.Add("y");
            values.Add(update.EventType);
        }

        if (update.ReconnectionInterval is { } retry)
        {
            values.Add("r");
            values.Add((long)retry.TotalMilliseconds);
        }

        return WriteAsync(update, [.. values], DateTimeOffset.FromUnixTimeMilliseconds(storedAt));
    }

    private async ValueTask<StoredUpdate> WriteAsync(Update update, RedisValue[] values, DateTimeOffset storedAt)
    {
        var id = update.EventId!;
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
                RedisLog.NotReadBack(_logger, stored.Sequence, _transport.Display);
            }
        }

        return stored;
    }

    /// <summary>
    /// The highest sequence this node knows of: read by its reader or given to one of its appends. Appends number
    /// after it, so a stream that lost its tail in Redis never hands this node's subscribers a number they passed.
    /// </summary>
    private long Known => Math.Max(LastSequence, Volatile.Read(ref _appended));

    /// <summary>A task that completes once the reader has delivered <paramref name="sequence"/>, which this node's append was given.</summary>
    private Task WhenDelivered(long sequence)
    {
        lock (_waitGate)
        {
            Volatile.Write(ref _appended, Math.Max(_appended, sequence));
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
}
