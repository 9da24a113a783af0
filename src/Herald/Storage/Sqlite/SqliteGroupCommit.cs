using Herald.Dispatch;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace Herald.Storage.Sqlite;

/// <summary>
/// Group commit: appends are queued (<see cref="HandOffQueue{T}"/>), and one writer thread takes everything queued,
/// inserts it in one transaction with one prepared statement (<see cref="SqliteBatch"/>) and commits, so the cost of a
/// commit is shared by every publisher that arrived meanwhile. Only then is <see cref="LastSequence"/> raised and the appends
/// completed (acknowledged: they are in the log) and handed, in sequence order, to a second thread that gives them
/// to the sink (the fan-out).
/// </summary>
/// <remarks>
/// <para>
/// Why two threads of their own. A publish used to be acknowledged only after its fan-out, on a pool thread: during a
/// reconnect storm of 10,000 subscribers one fan-out took 20–110 ms (every subscriber's queue contended by its replay
/// and the socket writer) and the next commit waited behind it and behind the pool's queue, so publishes stalled for
/// up to 2 s. Now a commit waits for neither: the publisher is told once the update is durable, and the fan-out
/// follows in order (IHeraldPublisher promises no more). The hand-over is bounded (<see cref="MaxUndispatched"/>):
/// when the fan-out falls that far behind, the writer waits for it, so publishers are slowed rather than memory grown.
/// </para>
/// <para>
/// Durability: WAL with <c>synchronous=NORMAL</c> by default, which survives a crash of the process but may lose
/// the last commits on power loss; <see cref="HeraldOptions.SyncEveryCommit"/> selects <c>FULL</c>, an fsync per
/// commit (per batch, not per update, thanks to group commit).
/// </para>
/// </remarks>
internal sealed class SqliteGroupCommit(
    SqliteDatabase database, SqliteCheckpoints checkpoints, IUpdateSink sink, TimeProvider time, ILogger logger)
{
    private const int MaxBatch = 4096;

    /// <summary>Stored updates the fan-out may lag behind the commits before the writer waits for it.</summary>
    internal const int MaxUndispatched = 4096;

    private long _lastSequence;
    private long _batchCount;
    private long _writtenCount;
    // The two loops run on threads of their own (HandOffQueue says why not a channel or a BlockingCollection).
    private readonly HandOffQueue<PendingAppend> _pending = new();

    private readonly HandOffQueue<StoredUpdate> _undispatched = new(MaxUndispatched);

    private readonly List<StoredUpdate> _committed = new(MaxBatch);
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _started;

    /// <summary>
    /// Whether the last batch failed (writer thread only): a full disk fails every batch, and the log gets the
    /// first failure and the recovery, not one error per batch.
    /// </summary>
    private bool _writesFailing;

    /// <summary>The sequence of the last committed update; raised after the commit, before the sink is called.</summary>
    public long LastSequence => Volatile.Read(ref _lastSequence);

    /// <summary>How many transactions the writer has committed or tried; with <see cref="WrittenCount"/>, the batch size group commit achieves.</summary>
    public long BatchCount => Volatile.Read(ref _batchCount);

    /// <summary>How many updates the writer has committed.</summary>
    public long WrittenCount => Volatile.Read(ref _writtenCount);

    /// <summary>Told of every commit and failed batch, so readiness knows the disk takes writes without writing itself.</summary>
    public SqliteWriteProbe? Probe { get; init; }

    /// <summary>
    /// Runs on the writer after a batch is committed (and <see cref="LastSequence"/> raised), before it is handed to
    /// the sink: tests hold it there to open the window between the two.
    /// </summary>
    public Action<IReadOnlyList<StoredUpdate>>? AfterCommitForTesting { get; set; }

    /// <summary>Starts the writer loop, once the database is open; numbering continues after <paramref name="lastSequence"/>.</summary>
    public void Start(long lastSequence)
    {
        _lastSequence = lastSequence;
        _started = true;
        new Thread(WriteLoop) { IsBackground = true, Name = "Herald history writer" }.Start();
        new Thread(DispatchLoop) { IsBackground = true, Name = "Herald history fan-out" }.Start();
    }

    /// <summary>Queues an update (with its id) for the next batch; the task completes once it is committed or refused.</summary>
    public ValueTask<StoredUpdate> Enqueue(Update update, CancellationToken cancellationToken)
    {
        var pending = new PendingAppend(update);
        pending.WatchCancellation(cancellationToken);
        if (!_pending.TryAdd(pending))
        {
            pending.Release();
            throw new ObjectDisposedException(nameof(SqliteUpdateStore));
        }

        return new ValueTask<StoredUpdate>(pending.Task);
    }

    /// <summary>Appends already queued are still written and acknowledged; new ones are refused.</summary>
    public Task StopAsync()
    {
        _pending.Complete();
        return _started ? _stopped.Task : Task.CompletedTask;
    }

    private void WriteLoop()
    {
        try
        {
            WriteAll();
        }
#pragma warning disable CA1031 // A dedicated thread: an exception escaping it would end the process.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            // WriteAll catches what a batch throws; this is a bug. Refuse what comes next rather than hang it.
            logger.WriterStopped(ex, database.FilePath);
            _pending.Complete();
            while (_pending.TryTakeNow(out var pending))
            {
                pending.Error ??= new StoreUnavailableException($"The history database '{database.FilePath}' cannot store updates right now.", ex);
                pending.Complete();
            }
        }
        finally
        {
            // The fan-out ends once it has handed on everything committed before.
            _undispatched.Complete();
        }
    }

    private void DispatchLoop()
    {
        try
        {
            while (_undispatched.TryTake(out var stored))
            {
                try
                {
                    sink.OnStored(stored);
                }
#pragma warning disable CA1031 // The hub's sink never throws; another's must not stop the updates after it (or end the process).
                catch (Exception ex)
#pragma warning restore CA1031
                {
                    logger.FanOutFailed(ex, stored.Sequence, database.FilePath);
                }
            }
        }
        finally
        {
            _stopped.TrySetResult();
        }
    }

    private void WriteAll()
    {
        var batch = new List<PendingAppend>(MaxBatch);

        // No cancellation token: the loop ends when DisposeAsync completes adding, after it has written everything
        // queued before, so no acknowledged-to-be publish is dropped on shutdown.
        while (_pending.TryTake(out var first))
        {
            batch.Clear();
            var next = first;
            do
            {
                if (next.TryClaim())
                {
                    batch.Add(next);
                }
            }
            while (batch.Count < MaxBatch && _pending.TryTakeNow(out next));

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
                logger.BatchFailedUnexpectedly(ex, batch.Count, database.FilePath);
                _committed.Clear();
                foreach (var pending in batch)
                {
                    pending.Stored = null;
                    pending.Error ??= new StoreUnavailableException($"The history database '{database.FilePath}' cannot store updates right now.", ex);
                }
            }

            AfterCommitForTesting?.Invoke(_committed);

            // In the fan-out's queue before anyone is told, so an acknowledged update is always on its way (waiting
            // here when the fan-out is MaxUndispatched behind); then the publishers, who need not wait for it.
            foreach (var stored in _committed)
            {
                _undispatched.TryAdd(stored);
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
        lock (database.WriteGate)
        {
            var statements = database.Batch!;
            var now = DateTimeOffset.FromUnixTimeMilliseconds(time.GetUtcNow().ToUnixTimeMilliseconds());
            var storedAt = now.ToUnixTimeMilliseconds();
            var next = _lastSequence;
            var committed = false;
            checkpoints.BeforeBatch();

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
                            pending.Error = DuplicateUpdateIdException.For(update.EventId!);
                            continue;
                    }

                    next++;
                    pending.Stored = new StoredUpdate(next, update, now);
                }

                statements.Commit();
                committed = true;
                Probe?.Committed();
                if (_writesFailing)
                {
                    _writesFailing = false;
                    logger.WritesRecovered(database.FilePath);
                }

                checkpoints.AfterCommit(statements.TakeFramesWritten());
            }
            catch (SqliteException ex)
            {
                RollBack(statements);
                Probe?.Failed();
                if (_writesFailing)
                {
                    logger.WritesStillFailing(ex, batch.Count, database.FilePath);
                }
                else
                {
                    _writesFailing = true;
                    logger.WritesFailing(ex, batch.Count, database.FilePath);
                }

                var reason = SQLitePCL.raw.sqlite3_errstr(ex.SqliteErrorCode).utf8_to_string();
                var unavailable = new StoreUnavailableException($"The history database '{database.FilePath}' cannot store updates right now ({reason}).", ex);
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
            if (SqliteDatabase.Scalar(database.Writer!, "SELECT max(seq) FROM updates") is long newest && newest > _lastSequence)
            {
                logger.FailedBatchCommitted(newest - _lastSequence, database.FilePath);
                Volatile.Write(ref _lastSequence, newest);
            }
        }
#pragma warning disable CA1031 // The disk is failing; the next batch tries again and reports its own error.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            logger.ResynchronizeFailed(ex, database.FilePath);
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
            logger.RollBackFailed(ex, database.FilePath);
        }
    }
}
