using System.Globalization;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Herald.Storage.Sqlite;

/// <summary>
/// Durable history in <c>herald.db</c> (SQLite, WAL) inside <see cref="HeraldOptions.DataDir"/>: the default
/// store of <c>herald serve</c>.
/// </summary>
/// <remarks>
/// <para>
/// Group commit: appends are queued on a channel, and one writer loop takes everything queued, inserts it in
/// one transaction with one prepared statement and commits, so the cost of a commit is shared by every publisher
/// that arrived meanwhile. Only then are the appends completed and handed to the sink, in sequence order.
/// </para>
/// <para>
/// Durability: WAL with <c>synchronous=NORMAL</c> by default, which survives a crash of the process but may lose
/// the last commits on power loss; <see cref="HeraldOptions.SyncEveryCommit"/> selects <c>FULL</c>, an fsync per
/// commit (per batch, not per update, thanks to group commit).
/// </para>
/// <para>
/// Sequences are assigned here, contiguously, and <c>meta.trimmed_through</c> remembers the highest one retention
/// ever deleted, so numbering continues after a restart even when retention emptied the table.
/// </para>
/// <para>
/// Retention runs every <see cref="CleanupInterval"/> and deletes in small batches, each its own short
/// transaction under the same lock as the writer, so a publish waits at most one batch.
/// </para>
/// </remarks>
internal sealed class SqliteUpdateStore : IUpdateStore
{
    /// <summary>The database's file name inside the data directory.</summary>
    public const string FileName = "herald.db";

    /// <summary>Stamped into the file header (<c>PRAGMA application_id</c>): "HRLD".</summary>
    private const int ApplicationId = 0x48524C44;
    private const int SchemaVersion = 1;
    private const int MaxBatch = 4096;
    private const int PageSize = 512;
    private const int TrimBatch = 2000;

    /// <summary>Log frames (pages) written between checkpoints: SQLite's own automatic checkpoint threshold.</summary>
    private const int CheckpointFrames = 1000;
    /// <summary>How long a log restart waits for readers before it gives up until the next batch.</summary>
    private static readonly TimeSpan LogRestartPatience = TimeSpan.FromSeconds(30);

    private const string Columns = "seq, id, topics, data, private, type, retry, stored_at";

    private readonly string _directory;
    private readonly string _path;
    private readonly long _maxCount;
    private readonly TimeSpan _maxAge;
    private readonly bool _syncEveryCommit;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Channel<PendingAppend> _pending =
        Channel.CreateUnbounded<PendingAppend>(new UnboundedChannelOptions { SingleReader = true });

    // Guards the writer connection: the writer loop, retention and the test hook take turns on it.
    private readonly object _writeGate = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<StoredUpdate> _committed = new(MaxBatch);
    private string _readConnectionString = "";
    private FileStream? _lockFile;
    private SqliteConnection? _writer;
    private SqliteBatch? _batchStatements;
    private SqliteConnection? _checkpointer;
    private Thread? _checkpointThread;
    private readonly AutoResetEvent _checkpointDue = new(false);
    private volatile bool _checkpointStopping;
    private long _framesSinceCheckpoint;

    /// <summary>
    /// Whether the last batch failed (writer thread only): a full disk fails every batch, and the log gets the
    /// first failure and the recovery, not one error per batch.
    /// </summary>
    private bool _writesFailing;
    private volatile bool _tailCheckpointDue;
    private readonly StoreLifecycle _life = new(nameof(SqliteUpdateStore));
    private Task _writerLoop = Task.CompletedTask;
    private Task _retentionLoop = Task.CompletedTask;
    private long _lastSequence;
    private readonly IUpdateSink _sink;
    private long _trimmedThrough;
    private long _batchCount;
    private long _logRestarts;
    private long _writtenCount;

    public SqliteUpdateStore(HeraldOptions options, IUpdateSink sink, TimeProvider? time = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(sink);
        _sink = sink;
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrWhiteSpace(options.DataDir))
        {
            throw new ArgumentException("The SQLite history needs a data directory (DataDir).", nameof(options));
        }

        _directory = Path.GetFullPath(options.DataDir);
        _path = Path.Combine(_directory, FileName);
        _maxCount = options.HistoryMaxCount;
        _maxAge = options.HistoryMaxAge;
        _syncEveryCommit = options.SyncEveryCommit;
        _time = time ?? TimeProvider.System;
        _logger = logger ?? NullLogger.Instance;
    }

    /// <summary>The database file.</summary>
    public string DatabasePath => _path;

    public long LastSequence => Volatile.Read(ref _lastSequence);

    /// <summary>How many transactions the writer has committed or tried; with <see cref="WrittenCount"/>, the batch size group commit achieves.</summary>
    internal long BatchCount => Volatile.Read(ref _batchCount);

    /// <summary>How many updates the writer has committed.</summary>
    internal long WrittenCount => Volatile.Read(ref _writtenCount);

    /// <summary>
    /// Runs on the writer after a batch is committed (and <see cref="LastSequence"/> raised), before it is handed to
    /// the sink: tests hold it there to open the window between the two.
    /// </summary>
    internal Action<IReadOnlyList<StoredUpdate>>? AfterCommitForTesting { get; set; }

    /// <summary>
    /// The log's hard bound: when a commit leaves it larger, the writer restarts it (<c>wal_checkpoint(TRUNCATE)</c>)
    /// before the next batch, and publishers wait meanwhile. It can exceed this by one batch only.
    /// </summary>
    /// <remarks>
    /// Checkpoints beside the writer keep the log far smaller on a steady stream, but they only copy pages no reader
    /// still needs and the writer starts the log over only once all of it is copied, so a loaded machine (52 MB seen
    /// against 26 MB usually) or a slow reader let it grow with nothing to stop it.
    /// </remarks>
    internal long MaxLogBytes { get; init; } = 32L * 1024 * 1024;

    /// <summary>How many times the writer restarted a log that passed <see cref="MaxLogBytes"/> (counted when it begins).</summary>
    internal long LogRestarts => Volatile.Read(ref _logRestarts);

    /// <summary>How often retention looks for updates to delete. Short in tests.</summary>
    internal TimeSpan CleanupInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>One node, nothing stored: the sink gets the announcement at once, on the caller's thread.</summary>
    public ValueTask AnnounceAsync(string announcement, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(announcement);
        ThrowIfNotRunning();
        _sink.OnAnnouncement(announcement);
        return ValueTask.CompletedTask;
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _life.BeginStart();

        try
        {
            cancellationToken.ThrowIfCancellationRequested();
            Open();
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

        _writerLoop = Task.Run(WriteLoopAsync, CancellationToken.None);
        _checkpointThread = new Thread(CheckpointLoop) { IsBackground = true, Name = "Herald history checkpoints" };
        _checkpointThread.Start();
        if (_maxCount > 0 || _maxAge > TimeSpan.Zero)
        {
            _retentionLoop = Task.Run(() => RetainLoopAsync(_stopping.Token), CancellationToken.None);
        }

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
        ThrowIfNotRunning();
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<StoredUpdate>(cancellationToken);
        }

        var pending = new PendingAppend(update.Id is null ? update with { Id = UpdateValidation.NewId() } : update);
        pending.WatchCancellation(cancellationToken);
        if (!_pending.Writer.TryWrite(pending))
        {
            pending.Release();
            throw new ObjectDisposedException(nameof(SqliteUpdateStore));
        }

        return new ValueTask<StoredUpdate>(pending.Task);
    }

    public async ValueTask<long?> FindSequenceAsync(string id, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(id);
        ThrowIfNotRunning();
        var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT seq FROM updates WHERE id = $id";
            command.Parameters.AddWithValue("$id", id);
            var result = await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
            return result is long sequence ? sequence : null;
        }
    }

    public async IAsyncEnumerable<StoredUpdate> ReadAfterAsync(
        long afterSequence,
        long? upToSequence,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ThrowIfNotRunning();
        var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using var command = connection.CreateCommand();
            command.CommandText = $"SELECT {Columns} FROM updates WHERE seq > $after AND seq <= $upTo ORDER BY seq LIMIT {PageSize}";
            var after = command.Parameters.Add("$after", SqliteType.Integer);
            command.Parameters.AddWithValue("$upTo", upToSequence ?? long.MaxValue);
            after.Value = afterSequence;
            var page = new List<StoredUpdate>(PageSize);
            while (true)
            {
                // Each page is its own statement, read to the end before anything is yielded: a slow reader holds
                // no read transaction open, which would stop WAL checkpoints from recycling the log.
                page.Clear();
                var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                await using (reader.ConfigureAwait(false))
                {
                    while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                    {
                        page.Add(ReadRow(reader));
                    }
                }

                foreach (var stored in page)
                {
                    yield return stored;
                }

                if (page.Count < PageSize)
                {
                    yield break;
                }

                after.Value = page[^1].Sequence;
            }
        }
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

    private async Task StopAsync()
    {
        // Appends already queued are still written and acknowledged; new ones are refused.
        _pending.Writer.TryComplete();
        await _writerLoop.ConfigureAwait(false);
        await _stopping.CancelAsync().ConfigureAwait(false);
        try
        {
            await _retentionLoop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        if (_checkpointThread is { } checkpoints)
        {
            _checkpointStopping = true;
            _checkpointDue.Set();
            checkpoints.Join();
            _checkpointThread = null;
        }

        _checkpointDue.Dispose();

        lock (_writeGate)
        {
            // The writer last: closing the last connection checkpoints the log and deletes it.
            _checkpointer?.Dispose();
            _checkpointer = null;
            _batchStatements?.Dispose();
            _batchStatements = null;
            _writer?.Dispose();
            _writer = null;
        }

        // After the connections: the lock stands until the file is really closed.
        _lockFile?.Dispose();
        _lockFile = null;

        if (_readConnectionString.Length > 0)
        {
            // Pooled readers keep the file (and its WAL) open; let it go so the last close checkpoints it.
            using var pooled = new SqliteConnection(_readConnectionString);
            SqliteConnection.ClearPool(pooled);
        }
    }

    /// <summary>
    /// Runs a statement on the writer connection, between batches. Tests use it to make the disk fail
    /// (<c>PRAGMA query_only=1</c>, <c>PRAGMA max_page_count</c>) and to inspect settings.
    /// </summary>
    internal object? ExecuteOnWriterForTesting(string sql)
    {
        lock (_writeGate)
        {
            using var command = (_writer ?? throw new InvalidOperationException("The store is not running.")).CreateCommand();
            command.CommandText = sql;
            return command.ExecuteScalar();
        }
    }


    private void ThrowIfNotRunning() => _life.ThrowIfNotRunning();

    private void Open()
    {
        try
        {
            Directory.CreateDirectory(_directory);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            throw new HistoryStoreException(
                $"Cannot create the data directory '{_directory}' ({Reason(ex)}): make it writable by this user or choose another data directory.",
                ex);
        }

        try
        {
            // SQLite would let a second hub open the file too, and two writers would hand out the same sequences.
            // The lock is advisory (flock on Unix) and goes away with the process, so a crash leaves nothing stale.
            _lockFile = new FileStream(_path + ".lock", FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.None);
        }
        catch (IOException ex) when (File.Exists(_path + ".lock"))
        {
            throw new HistoryStoreException(
                $"'{_path}' is in use by another Herald process ({Reason(ex)}): stop it or choose another data directory.",
                ex);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new HistoryStoreException(
                $"Cannot write in the data directory '{_directory}' ({Reason(ex)}): make it writable by this user or choose another data directory.",
                ex);
        }

        var builder = new SqliteConnectionStringBuilder
        {
            DataSource = _path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = false,
        };
        var writerConnectionString = builder.ToString();
        builder.Mode = SqliteOpenMode.ReadWrite;
        builder.Pooling = true;
        var readConnectionString = builder.ToString();

        SqliteConnection? connection = null;
        SqliteConnection? checkpointer = null;
        try
        {
            connection = new SqliteConnection(writerConnectionString);
            connection.Open();
            Execute(connection, "PRAGMA journal_mode=WAL");
            Execute(connection, _syncEveryCommit ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");

            // Checkpoints keep the log short; after a burst, truncate it back rather than leave it at its peak.
            Execute(connection, "PRAGMA journal_size_limit=67108864");

            // SQLite would checkpoint inside a commit, copying pages and syncing two files while every publisher
            // of the next batch waits; the checkpoint thread does it beside the writer instead (see CheckpointLoop).
            Execute(connection, "PRAGMA wal_autocheckpoint=0");

            // The id index takes a page per insert when ids are not time-ordered; a larger cache keeps those hot.
            Execute(connection, "PRAGMA cache_size=-16384");
            CheckOwnership(connection);
            CreateSchema(connection);
            ReadPositions(connection);

            // Its own connection, synced as the writer syncs: before copying the log, and after a full checkpoint.
            checkpointer = new SqliteConnection(writerConnectionString);
            checkpointer.Open();
            Execute(checkpointer, _syncEveryCommit ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
            Execute(checkpointer, "PRAGMA journal_size_limit=67108864");

            _batchStatements = SqliteBatch.Prepare(connection, Columns);
            _writer = connection;
            _checkpointer = checkpointer;
            _framesSinceCheckpoint = 0;
            _readConnectionString = readConnectionString;
            connection = null;
            checkpointer = null;
        }
        catch (SqliteException ex)
        {
            throw new HistoryStoreException(DescribeOpenFailure(ex), ex);
        }
        finally
        {
            checkpointer?.Dispose();
            if (connection is not null)
            {
                _batchStatements?.Dispose();
                _batchStatements = null;
                connection.Dispose();
                _lockFile.Dispose();
                _lockFile = null;
            }
        }
    }

    private void CheckOwnership(SqliteConnection connection)
    {
        var applicationId = Convert.ToInt64(Scalar(connection, "PRAGMA application_id"), CultureInfo.InvariantCulture);
        var version = Convert.ToInt64(Scalar(connection, "PRAGMA user_version"), CultureInfo.InvariantCulture);
        var tables = Convert.ToInt64(
            Scalar(connection, "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"),
            CultureInfo.InvariantCulture);
        if (applicationId == 0 && tables == 0)
        {
            return;
        }

        if (applicationId != ApplicationId)
        {
            throw new HistoryStoreException(
                $"'{_path}' is not a Herald database (it belongs to another application): move it away or choose another data directory.");
        }

        if (version > SchemaVersion)
        {
            throw new HistoryStoreException(
                $"'{_path}' was written by a newer Herald (schema {version}, this one reads {SchemaVersion}): upgrade Herald or choose another data directory.");
        }
    }

    private static void CreateSchema(SqliteConnection connection)
    {
        using var transaction = connection.BeginTransaction();
        Execute(connection, """
            CREATE TABLE IF NOT EXISTS updates (
                seq INTEGER PRIMARY KEY,
                id TEXT NOT NULL UNIQUE,
                topics TEXT NOT NULL,
                data TEXT,
                private INTEGER NOT NULL,
                type TEXT,
                retry INTEGER,
                stored_at INTEGER NOT NULL
            )
            """, transaction);
        Execute(connection, "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID", transaction);
        Execute(connection, $"PRAGMA application_id={ApplicationId}", transaction);
        Execute(connection, $"PRAGMA user_version={SchemaVersion}", transaction);
        transaction.Commit();
    }

    private void ReadPositions(SqliteConnection connection)
    {
        var trimmed = Scalar(connection, "SELECT value FROM meta WHERE key = 'trimmed_through'") as long? ?? 0;
        var newest = Scalar(connection, "SELECT max(seq) FROM updates") as long? ?? 0;
        var oldest = Scalar(connection, "SELECT min(seq) FROM updates") as long?;
        _lastSequence = Math.Max(newest, trimmed);
        _trimmedThrough = Math.Max(trimmed, (oldest ?? _lastSequence + 1) - 1);
    }

    private string DescribeOpenFailure(SqliteException ex)
    {
        var reason = SQLitePCL.raw.sqlite3_errstr(ex.SqliteErrorCode).utf8_to_string();
        return ex.SqliteErrorCode switch
        {
            SQLitePCL.raw.SQLITE_NOTADB =>
                $"'{_path}' is not a Herald database ({reason}): move it away or choose another data directory.",
            SQLitePCL.raw.SQLITE_CORRUPT =>
                $"'{_path}' is corrupt ({reason}): move it away (or restore a backup) or choose another data directory.",
            SQLitePCL.raw.SQLITE_CANTOPEN or SQLitePCL.raw.SQLITE_READONLY or SQLitePCL.raw.SQLITE_PERM
                or SQLitePCL.raw.SQLITE_AUTH or SQLitePCL.raw.SQLITE_IOERR =>
                $"Cannot write the history database '{_path}' ({reason}): make it and its directory writable by this user or choose another data directory.",
            SQLitePCL.raw.SQLITE_BUSY or SQLitePCL.raw.SQLITE_LOCKED =>
                $"'{_path}' is locked by another process ({reason}): stop the other hub or choose another data directory.",
            SQLitePCL.raw.SQLITE_FULL =>
                $"The disk holding '{_path}' is full ({reason}): free some space or choose another data directory.",
            _ => $"Cannot open the history database '{_path}' ({reason}): move it away or choose another data directory.",
        };
    }

    private async Task WriteLoopAsync()
    {
        var reader = _pending.Reader;
        var batch = new List<PendingAppend>(MaxBatch);

        // No cancellation token: the loop ends when DisposeAsync completes the channel, after it has written
        // everything queued before, so no acknowledged-to-be publish is dropped on shutdown.
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            batch.Clear();
            while (batch.Count < MaxBatch && reader.TryRead(out var pending))
            {
                if (pending.TryClaim())
                {
                    batch.Add(pending);
                }
            }

            if (batch.Count == 0)
            {
                continue;
            }

            try
            {
                WriteBatch(batch);
            }
#pragma warning disable CA1031 // Whatever went wrong, the loop must go on: a dead writer would hang every later publish.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                _logger.LogError(ex, "Storing {Count} updates in {Path} failed unexpectedly.", batch.Count, _path);
                _committed.Clear();
                foreach (var pending in batch)
                {
                    pending.Stored = null;
                    pending.Error ??= new StoreUnavailableException($"The history database '{_path}' cannot store updates right now.", ex);
                }
            }

            AfterCommitForTesting?.Invoke(_committed);

            // Sink first, then the publishers: by the time a publish is acknowledged, it has been dispatched.
            foreach (var stored in _committed)
            {
                Notify(stored);
            }

            foreach (var pending in batch)
            {
                pending.Complete();
            }
        }
    }

    private void WriteBatch(List<PendingAppend> batch)
    {
        _committed.Clear();
        Volatile.Write(ref _batchCount, _batchCount + 1);
        lock (_writeGate)
        {
            var statements = _batchStatements!;
            var now = DateTimeOffset.FromUnixTimeMilliseconds(_time.GetUtcNow().ToUnixTimeMilliseconds());
            var storedAt = now.ToUnixTimeMilliseconds();
            var next = _lastSequence;
            var committed = false;
            if (_tailCheckpointDue)
            {
                CheckpointTail();
            }

            if (LogBytes() > MaxLogBytes)
            {
                RestartLog();
            }

            try
            {
                statements.Begin();
                foreach (var pending in batch)
                {
                    var update = pending.Update;
                    switch (statements.Insert(next + 1, update, storedAt, out var invalidTopic))
                    {
                        case SqliteBatch.Outcome.InvalidTopic:
                            // A topic that is not valid UTF-16 (a lone surrogate) cannot be stored; refuse just this one.
                            pending.Error = new ArgumentException("A topic of the update is not valid text.", nameof(Update.Topics), invalidTopic);
                            continue;
                        case SqliteBatch.Outcome.DuplicateId:
                            // Only this statement failed; the rest of the batch goes on in the same transaction.
                            pending.Error = DuplicateUpdateIdException.For(update.Id!);
                            continue;
                    }

                    next++;
                    pending.Stored = new StoredUpdate(next, update, now);
                }

                statements.Commit();
                committed = true;
                if (_writesFailing)
                {
                    _writesFailing = false;
                    _logger.LogInformation("Storing updates in {Path} works again.", _path);
                }

                _framesSinceCheckpoint += statements.TakeFramesWritten();
                if (_framesSinceCheckpoint >= CheckpointFrames)
                {
                    _framesSinceCheckpoint = 0;
                    _checkpointDue.Set();
                }
            }
            catch (SqliteException ex)
            {
                RollBack(statements);
                if (_writesFailing)
                {
                    _logger.LogDebug(ex, "Storing {Count} updates in {Path} failed again.", batch.Count, _path);
                }
                else
                {
                    _writesFailing = true;
                    _logger.LogError(ex, "Storing {Count} updates in {Path} failed; publishes are refused (503) until it works again.", batch.Count, _path);
                }

                var reason = SQLitePCL.raw.sqlite3_errstr(ex.SqliteErrorCode).utf8_to_string();
                var unavailable = new StoreUnavailableException($"The history database '{_path}' cannot store updates right now ({reason}).", ex);
                foreach (var pending in batch)
                {
                    pending.Stored = null;
                    pending.Error ??= unavailable;
                }

                ResynchronizeAfterFailure();
                return;
            }
            finally
            {
                if (!committed)
                {
                    // Whatever interrupted the batch, its transaction must not stay open under the next one.
                    RollBack(statements);
                }
            }

            Volatile.Write(ref _writtenCount, _writtenCount + (next - _lastSequence));
            Volatile.Write(ref _lastSequence, next);
        }

        foreach (var pending in batch)
        {
            if (pending.Stored is { } stored)
            {
                _committed.Add(stored);
            }
        }
    }

    /// <summary>
    /// Some I/O errors (a failed fsync after the commit record was written) leave a transaction committed that
    /// SQLite reported as failed. Numbering must continue after whatever is really in the table, or every later
    /// batch would collide with it; those updates are in history but were reported failed (the publisher may
    /// retry) and never reached the sink.
    /// </summary>
    private void ResynchronizeAfterFailure()
    {
        try
        {
            if (Scalar(_writer!, "SELECT max(seq) FROM updates") is long newest && newest > _lastSequence)
            {
                _logger.LogWarning("{Count} updates reported as failed were committed to {Path} after all.", newest - _lastSequence, _path);
                Volatile.Write(ref _lastSequence, newest);
            }
        }
#pragma warning disable CA1031 // The disk is failing; the next batch tries again and reports its own error.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            _logger.LogDebug(ex, "Reading the last sequence of {Path} after a failure failed too.", _path);
        }
    }

    private void RollBack(SqliteBatch statements)
    {
        try
        {
            statements.RollBack();
        }
#pragma warning disable CA1031 // SQLite may have rolled back already (disk full, I/O error); nothing is left to undo.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            _logger.LogDebug(ex, "Rolling back a failed batch in {Path} failed.", _path);
        }
    }

    /// <summary>
    /// Copies the log into the database whenever the writer has added <see cref="CheckpointFrames"/> pages to it, on
    /// its own thread and connection, so commits never wait for it. Passive: it takes what no reader still needs and
    /// never blocks the writer or readers; the writer starts the log over once it has all been copied.
    /// </summary>
    private void CheckpointLoop()
    {
        while (true)
        {
            _checkpointDue.WaitOne();
            if (_checkpointStopping)
            {
                return;
            }

            try
            {
                using var command = _checkpointer!.CreateCommand();
                command.CommandText = "PRAGMA wal_checkpoint(PASSIVE)";
                command.CommandTimeout = 1;
                command.ExecuteNonQuery();
                _tailCheckpointDue = true;
            }
#pragma warning disable CA1031 // A failed checkpoint is retried after the next pages; the log only grows meanwhile.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                _logger.LogWarning(ex, "Checkpointing the log of {Path} failed; retrying later.", _path);
            }
        }
    }

    /// <summary>
    /// Copies the pages the writer added while the checkpoint thread was copying, between two batches (so nothing
    /// is added meanwhile): with the whole log copied, the next commit starts the log over from its beginning.
    /// </summary>
    /// <remarks>
    /// Without this pass, under a steady stream of publishes the checkpoint thread never catches up with the writer,
    /// the log is never started over and grows without end (half a gigabyte in ten seconds of 40,000 publishes/s),
    /// and every page appended to a growing file costs the kernel a fresh block. The pass copies only that tail
    /// (most of the log was copied beside the writer), so the batch it delays waits about a millisecond.
    /// </remarks>
    private void CheckpointTail()
    {
        _tailCheckpointDue = false;
        try
        {
            Execute(_writer!, "PRAGMA wal_checkpoint(PASSIVE)");
        }
#pragma warning disable CA1031 // A failed pass is retried after the next checkpoint; the log only grows meanwhile.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            _logger.LogDebug(ex, "Copying the tail of the log of {Path} failed; retrying after the next checkpoint.", _path);
        }
    }

    /// <summary>The log's size: one stat per batch, not per update.</summary>
    private long LogBytes()
    {
        try
        {
            return new FileInfo(_path + "-wal").Length;
        }
        catch (FileNotFoundException)
        {
            return 0;
        }
    }

    /// <summary>
    /// Copies the whole log into the database and truncates it, between two batches (the writer holds the gate, so
    /// publishers wait). A reader still on an older snapshot holds it up; readers read a page at a time, so it is a
    /// short wait, retried until <see cref="LogRestartPatience"/> passes.
    /// </summary>
    private void RestartLog()
    {
        Volatile.Write(ref _logRestarts, _logRestarts + 1);
        var deadline = Environment.TickCount64 + (long)LogRestartPatience.TotalMilliseconds;
        while (true)
        {
            try
            {
                using var command = _writer!.CreateCommand();
                command.CommandText = "PRAGMA wal_checkpoint(TRUNCATE)";
                using var reader = command.ExecuteReader();
                if (reader.Read() && reader.GetInt64(0) == 0)
                {
                    _framesSinceCheckpoint = 0;
                    return;
                }
            }
            catch (SqliteException ex) when (ex.SqliteErrorCode is SQLitePCL.raw.SQLITE_BUSY or SQLitePCL.raw.SQLITE_LOCKED)
            {
                // The checkpoint thread is copying: try again once it is done.
            }

            if (Environment.TickCount64 > deadline)
            {
                _logger.LogWarning("The log of {Path} passed {Bound} bytes and could not be restarted: a reader held it for {Patience}.", _path, MaxLogBytes, LogRestartPatience);
                return;
            }

            Thread.Sleep(1);
        }
    }

    private void Notify(StoredUpdate stored) => _sink.OnStored(stored);

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
                _logger.LogWarning(ex, "Removing old updates from {Path} failed; retrying in {Interval}.", _path, CleanupInterval);
            }
        }
    }

    /// <summary>Deletes what retention no longer keeps, oldest first, a small batch per transaction.</summary>
    internal async Task TrimAsync(CancellationToken cancellationToken)
    {
        var last = LastSequence;

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
            lock (_writeGate)
            {
                using var transaction = _writer!.BeginTransaction();
                using var command = _writer.CreateCommand();
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

    /// <summary>The sequence just before the first update young enough to keep.</summary>
    private async Task<long> FindLastExpiredAsync(long last, CancellationToken cancellationToken)
    {
        var cutoff = (_time.GetUtcNow() - _maxAge).ToUnixTimeMilliseconds();
        var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
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

    private async Task<SqliteConnection> OpenReaderAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_readConnectionString);
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private static StoredUpdate ReadRow(SqliteDataReader reader)
    {
        var update = new Update
        {
            Id = reader.GetString(1),
            Topics = TopicsJson.Parse(reader.GetString(2)),
            Data = reader.IsDBNull(3) ? null : reader.GetString(3),
            Private = reader.GetInt64(4) != 0,
            Type = reader.IsDBNull(5) ? null : reader.GetString(5),
            Retry = reader.IsDBNull(6) ? null : TimeSpan.FromMilliseconds(reader.GetInt64(6)),
        };
        return new StoredUpdate(reader.GetInt64(0), update, DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(7)));
    }

    private static void Execute(SqliteConnection connection, string sql, SqliteTransaction? transaction = null)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static object? Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }

    private static string Reason(Exception ex) => ex.Message.TrimEnd('.').ReplaceLineEndings(" ");

    /// <summary>One queued append: the publisher awaits it, the writer loop claims, fills and completes it.</summary>
    private sealed class PendingAppend : TaskCompletionSource<StoredUpdate>
    {
        private const int Queued = 0;
        private const int Claimed = 1;
        private const int Cancelled = 2;
        private int _state;
        private CancellationTokenRegistration _registration;

        public PendingAppend(Update update)
            : base(TaskCreationOptions.RunContinuationsAsynchronously)
        {
            Update = update;
        }

        public Update Update { get; }

        public StoredUpdate? Stored { get; set; }

        public Exception? Error { get; set; }

        public void WatchCancellation(CancellationToken cancellationToken)
        {
            if (cancellationToken.CanBeCanceled)
            {
                _registration = cancellationToken.UnsafeRegister(
                    static (state, token) => ((PendingAppend)state!).Cancel(token),
                    this);
            }
        }

        /// <summary>The writer takes it, unless the publisher gave up first; from here it is written whatever happens.</summary>
        public bool TryClaim()
        {
            if (Interlocked.CompareExchange(ref _state, Claimed, Queued) != Queued)
            {
                return false;
            }

            _registration.Dispose();
            return true;
        }

        public void Release() => _registration.Dispose();

        public void Complete()
        {
            if (Stored is { } stored)
            {
                TrySetResult(stored);
            }
            else
            {
                TrySetException(Error ?? new StoreUnavailableException("The update was not stored."));
            }
        }

        private void Cancel(CancellationToken token)
        {
            if (Interlocked.CompareExchange(ref _state, Cancelled, Queued) == Queued)
            {
                TrySetCanceled(token);
            }
        }
    }
}
