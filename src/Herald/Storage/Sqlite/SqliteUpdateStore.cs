using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Herald.Storage.Sqlite;

/// <summary>
/// Durable history in <c>herald.db</c> (SQLite, WAL) inside <see cref="HeraldOptions.DataDir"/>: the default
/// store of <c>herald serve</c>.
/// </summary>
/// <remarks>
/// <para>
/// A composition of four parts, one job each: <see cref="SqliteDatabase"/> opens the file and checks its schema;
/// <see cref="SqliteGroupCommit"/> writes appends in batches, one transaction each, and hands them to the sink
/// after the commit, in sequence order; <see cref="SqliteCheckpoints"/> keeps the write-ahead log bounded;
/// <see cref="SqliteRetention"/> deletes what the limits no longer keep and <see cref="SqliteHistoryReader"/> reads.
/// </para>
/// <para>
/// Sequences are assigned by the writer, contiguously, and <c>meta.trimmed_through</c> remembers the highest one
/// retention ever deleted, so numbering continues after a restart even when retention emptied the table.
/// </para>
/// </remarks>
internal sealed class SqliteUpdateStore : IUpdateStore, IHealthCheck
{
    /// <summary>The database's file name inside the data directory.</summary>
    public const string FileName = SqliteDatabase.FileName;

    private readonly StoreLifecycle _life = new(nameof(SqliteUpdateStore));
    private readonly IUpdateSink _sink;
    private readonly SqliteDatabase _database;
    private readonly SqliteCheckpoints _checkpoints;
    private readonly SqliteGroupCommit _writer;
    private readonly SqliteHistoryReader _reader;
    private readonly SqliteRetention _retention;
    private readonly SqliteWriteProbe _probe;

    public SqliteUpdateStore(HeraldOptions options, IUpdateSink sink, TimeProvider? time = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(sink);
        _sink = sink;
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrWhiteSpace(options.DataDir))
        {
            throw new ArgumentException("The SQLite history needs a data directory (DataDir).", nameof(options));
        }

        time ??= TimeProvider.System;
        logger ??= NullLogger.Instance;
        _database = new SqliteDatabase(options.DataDir, options.SyncEveryCommit);
        _checkpoints = new SqliteCheckpoints(_database, logger);
        _probe = new SqliteWriteProbe(_database, _checkpoints, time, logger);
        _writer = new SqliteGroupCommit(_database, _checkpoints, sink, time, logger) { Probe = _probe };
        _reader = new SqliteHistoryReader(_database, _life);
        _retention = new SqliteRetention(_database, _reader, _writer, options, time, logger);
    }

    /// <summary>The database file.</summary>
    public string DatabasePath => _database.FilePath;

    public long LastSequence => _writer.LastSequence;

    /// <summary>How many transactions the writer has committed or tried; with <see cref="WrittenCount"/>, the batch size group commit achieves.</summary>
    internal long BatchCount => _writer.BatchCount;

    /// <summary>How many updates the writer has committed.</summary>
    internal long WrittenCount => _writer.WrittenCount;

    /// <inheritdoc cref="SqliteGroupCommit.AfterCommitForTesting"/>
    internal Action<IReadOnlyList<StoredUpdate>>? AfterCommitForTesting
    {
        get => _writer.AfterCommitForTesting;
        set => _writer.AfterCommitForTesting = value;
    }

    /// <inheritdoc cref="SqliteCheckpoints.MaxLogBytes"/>
    internal long MaxLogBytes
    {
        get => _checkpoints.MaxLogBytes;
        init => _checkpoints.MaxLogBytes = value;
    }

    /// <inheritdoc cref="SqliteCheckpoints.LogRestarts"/>
    internal long LogRestarts => _checkpoints.LogRestarts;

    /// <inheritdoc cref="SqliteRetention.CleanupInterval"/>
    internal TimeSpan CleanupInterval
    {
        get => _retention.CleanupInterval;
        init => _retention.CleanupInterval = value;
    }

    /// <summary>One node, nothing stored: the sink gets the announcement at once, on the caller's thread.</summary>
    public ValueTask AnnounceAsync(string announcement, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(announcement);
        _life.ThrowIfNotRunning();
        _sink.OnAnnouncement(announcement);
        return ValueTask.CompletedTask;
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _life.BeginStart();

        (long LastSequence, long TrimmedThrough) positions;
        try
        {
            cancellationToken.ThrowIfCancellationRequested();
            positions = _database.Open();
        }
        catch
        {
            // Nothing is running; the caller may fix the cause and start again.
            if (!_life.UndoStart())
            {
                await StopAsync().ConfigureAwait(false);
            }

            throw;
        }

        _writer.Start(positions.LastSequence);
        _checkpoints.Start();
        _retention.Start(positions.TrimmedThrough);

        if (!_life.CompleteStart())
        {
            // DisposeAsync ran while this was opening and left the cleanup to it.
            await StopAsync().ConfigureAwait(false);
            throw new ObjectDisposedException(nameof(SqliteUpdateStore));
        }
    }

    public ValueTask<StoredUpdate> AppendAsync(Update update, CancellationToken cancellationToken)
    {
        UpdateValidation.ThrowIfInvalid(update);
        _life.ThrowIfNotRunning();
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<StoredUpdate>(cancellationToken);
        }

        return _writer.Enqueue(update.EventId is null ? update with { EventId = UpdateValidation.NewId() } : update, cancellationToken);
    }

    public ValueTask<long?> FindSequenceAsync(string id, CancellationToken cancellationToken)
        => _reader.FindSequenceAsync(id, cancellationToken);

    public IAsyncEnumerable<StoredUpdate> ReadAfterAsync(long afterSequence, long? upToSequence, CancellationToken cancellationToken)
        => _reader.ReadAfterAsync(afterSequence, upToSequence, cancellationToken);

    /// <summary>Ready while started and the database takes writes (<see cref="SqliteWriteProbe"/>: no update is written to find out).</summary>
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (_life.State != StoreState.Started)
        {
            return Task.FromResult(HealthCheckResult.Unhealthy("the history is not running"));
        }

        return Task.FromResult(_probe.IsWritable()
            ? HealthCheckResult.Healthy()
            : HealthCheckResult.Unhealthy("the history database cannot be written"));
    }

    public async ValueTask DisposeAsync()
    {
        var previous = _life.Dispose();
        if (previous is StoreState.Created or StoreState.Started)
        {
            // When starting, StartAsync sees the change and stops what it opened.
            await StopAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Runs a statement on the writer connection, between batches. Tests use it to make the disk fail
    /// (<c>PRAGMA query_only=1</c>, <c>PRAGMA max_page_count</c>) and to inspect settings.
    /// </summary>
    internal object? ExecuteOnWriterForTesting(string sql)
    {
        lock (_database.WriteGate)
        {
            return SqliteDatabase.Scalar(_database.Writer ?? throw new InvalidOperationException("The store is not running."), sql);
        }
    }

    /// <inheritdoc cref="SqliteRetention.TrimAsync"/>
    internal Task TrimAsync(CancellationToken cancellationToken) => _retention.TrimAsync(cancellationToken);

    private async Task StopAsync()
    {
        // Appends already queued are still written and acknowledged; new ones are refused.
        await _writer.StopAsync().ConfigureAwait(false);
        await _retention.StopAsync().ConfigureAwait(false);
        _retention.Dispose();
        _checkpoints.Dispose();
        _database.Close();
    }
}
