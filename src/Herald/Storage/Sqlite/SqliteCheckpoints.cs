using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace Herald.Storage.Sqlite;

/// <summary>
/// Keeps the write-ahead log bounded: passive checkpoints on a thread of their own beside the writer, the tail
/// copied between batches, and a restart (<c>wal_checkpoint(TRUNCATE)</c>) when the log passes
/// <see cref="MaxLogBytes"/>. The writer calls <see cref="BeforeBatch"/> and <see cref="AfterCommit"/> under
/// <see cref="SqliteDatabase.WriteGate"/>.
/// </summary>
internal sealed class SqliteCheckpoints : IDisposable
{
    /// <summary>Log frames (pages) written between checkpoints: SQLite's own automatic checkpoint threshold.</summary>
    private const int CheckpointFrames = 1000;

    /// <summary>How long a log restart waits for readers before it gives up until the next batch.</summary>
    private static readonly TimeSpan LogRestartPatience = TimeSpan.FromSeconds(30);

    private readonly SqliteDatabase _database;
    private readonly ILogger _logger;
    private readonly AutoResetEvent _checkpointDue = new(false);
    private Thread? _checkpointThread;
    private volatile bool _checkpointStopping;
    private volatile bool _tailCheckpointDue;
    private long _framesSinceCheckpoint;
    private long _logRestarts;

    public SqliteCheckpoints(SqliteDatabase database, ILogger logger)
    {
        _database = database;
        _logger = logger;
    }

    /// <summary>
    /// The log's hard bound: when a commit leaves it larger, the writer restarts it (<c>wal_checkpoint(TRUNCATE)</c>)
    /// before the next batch, and publishers wait meanwhile. It can exceed this by one batch only.
    /// </summary>
    /// <remarks>
    /// Checkpoints beside the writer keep the log far smaller on a steady stream, but they only copy pages no reader
    /// still needs and the writer starts the log over only once all of it is copied, so a loaded machine (52 MB seen
    /// against 26 MB usually) or a slow reader let it grow with nothing to stop it.
    /// </remarks>
    public long MaxLogBytes { get; set; } = 32L * 1024 * 1024;

    /// <summary>How many times the writer restarted a log that passed <see cref="MaxLogBytes"/> (counted when it begins).</summary>
    public long LogRestarts => Volatile.Read(ref _logRestarts);

    /// <summary>Starts the checkpoint thread, once the database is open.</summary>
    public void Start()
    {
        _framesSinceCheckpoint = 0;
        _checkpointThread = new Thread(CheckpointLoop) { IsBackground = true, Name = "Herald history checkpoints" };
        _checkpointThread.Start();
    }

    /// <summary>Stops the checkpoint thread, once the writer has stopped; the database closes after.</summary>
    public void Dispose()
    {
        if (_checkpointThread is { } checkpoints)
        {
            _checkpointStopping = true;
            _checkpointDue.Set();
            checkpoints.Join();
            _checkpointThread = null;
        }

        _checkpointDue.Dispose();
    }

    /// <summary>Before a batch, under the write gate: copies the log's tail if due, restarts the log if too large.</summary>
    public void BeforeBatch()
    {
        if (_tailCheckpointDue)
        {
            CheckpointTail();
        }

        if (LogBytes() > MaxLogBytes)
        {
            RestartLog();
        }
    }

    /// <summary>After a commit, under the write gate: wakes the checkpoint thread every <see cref="CheckpointFrames"/> pages.</summary>
    public void AfterCommit(int framesWritten)
    {
        _framesSinceCheckpoint += framesWritten;
        if (_framesSinceCheckpoint >= CheckpointFrames)
        {
            _framesSinceCheckpoint = 0;
            _checkpointDue.Set();
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
                using var command = _database.Checkpointer!.CreateCommand();
                command.CommandText = "PRAGMA wal_checkpoint(PASSIVE)";
                command.CommandTimeout = 1;
                command.ExecuteNonQuery();
                _tailCheckpointDue = true;
            }
#pragma warning disable CA1031 // A failed checkpoint is retried after the next pages; the log only grows meanwhile.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                _logger.CheckpointFailed(ex, _database.FilePath);
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
            SqliteDatabase.Execute(_database.Writer!, "PRAGMA wal_checkpoint(PASSIVE)");
        }
#pragma warning disable CA1031 // A failed pass is retried after the next checkpoint; the log only grows meanwhile.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            _logger.TailCheckpointFailed(ex, _database.FilePath);
        }
    }

    /// <summary>The log's size: one stat per batch, not per update.</summary>
    private long LogBytes()
    {
        try
        {
            return new FileInfo(_database.FilePath + "-wal").Length;
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
                using var command = _database.Writer!.CreateCommand();
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
                _logger.LogRestartGaveUp(_database.FilePath, MaxLogBytes, LogRestartPatience);
                return;
            }

            Thread.Sleep(1);
        }
    }
}
