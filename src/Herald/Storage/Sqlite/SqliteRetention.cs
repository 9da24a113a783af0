using Microsoft.Extensions.Logging;

namespace Herald.Storage.Sqlite;

/// <summary>
/// Retention: every <see cref="CleanupInterval"/>, deletes what the count and age limits no longer keep, in small
/// batches, each its own short transaction under the same lock as the writer, so a publish waits at most one batch.
/// </summary>
internal sealed class SqliteRetention : IDisposable
{
    private const int TrimBatch = 2000;

    private readonly SqliteDatabase _database;
    private readonly SqliteHistoryReader _reader;
    private readonly SqliteGroupCommit _writer;
    private readonly long _maxCount;
    private readonly TimeSpan _maxAge;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private Task _retentionLoop = Task.CompletedTask;
    private long _trimmedThrough;

    public SqliteRetention(
        SqliteDatabase database,
        SqliteHistoryReader reader,
        SqliteGroupCommit writer,
        HeraldOptions options,
        TimeProvider time,
        ILogger logger)
    {
        _database = database;
        _reader = reader;
        _writer = writer;
        _maxCount = options.HistoryMaxCount;
        _maxAge = options.HistoryMaxAge;
        _time = time;
        _logger = logger;
    }

    /// <summary>How often retention looks for updates to delete. Short in tests.</summary>
    public TimeSpan CleanupInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Once the database is open: remembers what was deleted before (<paramref name="trimmedThrough"/>) and, when
    /// a limit is set, starts the cleanup loop.
    /// </summary>
    public void Start(long trimmedThrough)
    {
        _trimmedThrough = trimmedThrough;
        if (_maxCount > 0 || _maxAge > TimeSpan.Zero)
        {
            _retentionLoop = Task.Run(() => RetainLoopAsync(_stopping.Token), CancellationToken.None);
        }
    }

    /// <summary>Stops the cleanup loop (after the writer, before the database closes).</summary>
    public async Task StopAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        try
        {
            await _retentionLoop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }

    public void Dispose() => _stopping.Dispose();

    /// <summary>Deletes what retention no longer keeps, oldest first, a small batch per transaction.</summary>
    public async Task TrimAsync(CancellationToken cancellationToken)
    {
        var last = _writer.LastSequence;

        // Sequences are contiguous, so the count limit is arithmetic.
        var target = _maxCount > 0 ? last - _maxCount : 0;
        if (_maxAge > TimeSpan.Zero)
        {
            target = Math.Max(target, await FindLastExpiredAsync(last, cancellationToken).ConfigureAwait(false));
        }

        while (_trimmedThrough < target)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var upTo = Math.Min(target, _trimmedThrough + TrimBatch);
            lock (_database.WriteGate)
            {
                var writer = _database.Writer!;
                using var transaction = writer.BeginTransaction();
                using var command = writer.CreateCommand();
                command.Transaction = transaction;
                command.CommandText = """
                    DELETE FROM updates WHERE seq > $from AND seq <= $upTo;
                    INSERT INTO meta (key, value) VALUES ('trimmed_through', $upTo)
                        ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value);
                    """;
                command.Parameters.AddWithValue("$from", _trimmedThrough);
                command.Parameters.AddWithValue("$upTo", upTo);
                command.ExecuteNonQuery();
                transaction.Commit();
            }

            _trimmedThrough = upTo;

            // Let the writer take the lock between batches.
            await Task.Yield();
        }
    }

    private async Task RetainLoopAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(CleanupInterval, _time);
        while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
        {
            try
            {
                await TrimAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
#pragma warning disable CA1031 // A failed cleanup is retried on the next tick; it must not stop the loop.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                _logger.TrimFailed(ex, _database.FilePath, CleanupInterval);
            }
        }
    }

    /// <summary>The sequence just before the first update young enough to keep.</summary>
    private async Task<long> FindLastExpiredAsync(long last, CancellationToken cancellationToken)
    {
        var cutoff = (_time.GetUtcNow() - _maxAge).ToUnixTimeMilliseconds();
        var connection = await _reader.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            // Walks the table in sequence order from the oldest kept and stops at the first young one, so it
            // reads only what is about to be deleted; no index on stored_at to maintain on every insert.
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT seq FROM updates WHERE seq > $from AND seq <= $last AND stored_at >= $cutoff ORDER BY seq LIMIT 1";
            command.Parameters.AddWithValue("$from", _trimmedThrough);
            command.Parameters.AddWithValue("$last", last);
            command.Parameters.AddWithValue("$cutoff", cutoff);
            var keep = await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as long?;
            return (keep ?? last + 1) - 1;
        }
    }
}
