using System.Globalization;
using Microsoft.Data.Sqlite;

namespace Herald.Storage.Sqlite;

/// <summary>
/// Opening and schema: the data directory, the lock file, the writer's and the checkpointer's connections (WAL and
/// its settings), the schema and its version, and the one-line <see cref="HistoryStoreException"/> that says what
/// to do when any of it fails.
/// </summary>
internal sealed class SqliteDatabase
{
    /// <summary>The database's file name inside the data directory.</summary>
    public const string FileName = "herald.db";

    /// <summary>The history's columns, in the order the insert binds them and <see cref="SqliteHistoryReader"/> reads them.</summary>
    public const string Columns = "seq, id, topics, data, private, type, retry, stored_at";

    /// <summary>Stamped into the file header (<c>PRAGMA application_id</c>): "HRLD".</summary>
    private const int ApplicationId = 0x48524C44;
    private const int SchemaVersion = 1;

    private readonly string _directory;
    private readonly bool _syncEveryCommit;
    private FileStream? _lockFile;

    public SqliteDatabase(string dataDir, bool syncEveryCommit)
    {
        _directory = Path.GetFullPath(dataDir);
        FilePath = Path.Combine(_directory, FileName);
        _syncEveryCommit = syncEveryCommit;
    }

    /// <summary>The database file.</summary>
    public string FilePath { get; }

    /// <summary>Guards the writer connection: the writer loop, retention and the test hook take turns on it.</summary>
    public object WriteGate { get; } = new();

    /// <summary>The one connection that writes (under <see cref="WriteGate"/>); null until opened and after closing.</summary>
    public SqliteConnection? Writer { get; private set; }

    /// <summary>The group commit's statements, prepared on <see cref="Writer"/>.</summary>
    public SqliteBatch? Batch { get; private set; }

    /// <summary>The checkpoint thread's own connection.</summary>
    public SqliteConnection? Checkpointer { get; private set; }

    /// <summary>Pooled, read-only use: replays, lookups by id, retention's search for the expired.</summary>
    public string ReadConnectionString { get; private set; } = "";

    /// <summary>Opens (or creates) the database; returns where numbering continues and what retention deleted.</summary>
    public (long LastSequence, long TrimmedThrough) Open()
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
            _lockFile = new FileStream(FilePath + ".lock", FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.None);
        }
        catch (IOException ex) when (File.Exists(FilePath + ".lock"))
        {
            throw new HistoryStoreException(
                $"'{FilePath}' is in use by another Herald process ({Reason(ex)}): stop it or choose another data directory.",
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
            DataSource = FilePath,
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
            // of the next batch waits; the checkpoint thread does it beside the writer instead (see SqliteCheckpoints).
            Execute(connection, "PRAGMA wal_autocheckpoint=0");

            // The id index takes a page per insert when ids are not time-ordered; a larger cache keeps those hot.
            Execute(connection, "PRAGMA cache_size=-16384");
            CheckOwnership(connection);
            CreateSchema(connection);
            var positions = ReadPositions(connection);

            // Its own connection, synced as the writer syncs: before copying the log, and after a full checkpoint.
            checkpointer = new SqliteConnection(writerConnectionString);
            checkpointer.Open();
            Execute(checkpointer, _syncEveryCommit ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
            Execute(checkpointer, "PRAGMA journal_size_limit=67108864");

            Batch = SqliteBatch.Prepare(connection, Columns);
            Writer = connection;
            Checkpointer = checkpointer;
            ReadConnectionString = readConnectionString;
            connection = null;
            checkpointer = null;
            return positions;
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
                Batch?.Dispose();
                Batch = null;
                connection.Dispose();
                _lockFile.Dispose();
                _lockFile = null;
            }
        }
    }

    /// <summary>Closes the connections, then lets the lock go. Call once nothing else uses them.</summary>
    public void Close()
    {
        lock (WriteGate)
        {
            // The writer last: closing the last connection checkpoints the log and deletes it.
            Checkpointer?.Dispose();
            Checkpointer = null;
            Batch?.Dispose();
            Batch = null;
            Writer?.Dispose();
            Writer = null;
        }

        // After the connections: the lock stands until the file is really closed.
        _lockFile?.Dispose();
        _lockFile = null;

        if (ReadConnectionString.Length > 0)
        {
            // Pooled readers keep the file (and its WAL) open; let it go so the last close checkpoints it.
            using var pooled = new SqliteConnection(ReadConnectionString);
            SqliteConnection.ClearPool(pooled);
        }
    }

    public static void Execute(SqliteConnection connection, string sql, SqliteTransaction? transaction = null)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    public static object? Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }

    private static string Reason(Exception ex) => ex.Message.TrimEnd('.').ReplaceLineEndings(" ");

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
                $"'{FilePath}' is not a Herald database (it belongs to another application): move it away or choose another data directory.");
        }

        if (version > SchemaVersion)
        {
            throw new HistoryStoreException(
                $"'{FilePath}' was written by a newer Herald (schema {version}, this one reads {SchemaVersion}): upgrade Herald or choose another data directory.");
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

    /// <summary>
    /// Sequences are contiguous, and <c>meta.trimmed_through</c> remembers the highest one retention ever deleted,
    /// so numbering continues after a restart even when retention emptied the table.
    /// </summary>
    private static (long LastSequence, long TrimmedThrough) ReadPositions(SqliteConnection connection)
    {
        var trimmed = Scalar(connection, "SELECT value FROM meta WHERE key = 'trimmed_through'") as long? ?? 0;
        var newest = Scalar(connection, "SELECT max(seq) FROM updates") as long? ?? 0;
        var oldest = Scalar(connection, "SELECT min(seq) FROM updates") as long?;
        var last = Math.Max(newest, trimmed);
        return (last, Math.Max(trimmed, (oldest ?? last + 1) - 1));
    }

    private string DescribeOpenFailure(SqliteException ex)
    {
        var reason = SQLitePCL.raw.sqlite3_errstr(ex.SqliteErrorCode).utf8_to_string();
        return ex.SqliteErrorCode switch
        {
            SQLitePCL.raw.SQLITE_NOTADB =>
                $"'{FilePath}' is not a Herald database ({reason}): move it away or choose another data directory.",
            SQLitePCL.raw.SQLITE_CORRUPT =>
                $"'{FilePath}' is corrupt ({reason}): move it away (or restore a backup) or choose another data directory.",
            SQLitePCL.raw.SQLITE_CANTOPEN or SQLitePCL.raw.SQLITE_READONLY or SQLitePCL.raw.SQLITE_PERM
                or SQLitePCL.raw.SQLITE_AUTH or SQLitePCL.raw.SQLITE_IOERR =>
                $"Cannot write the history database '{FilePath}' ({reason}): make it and its directory writable by this user or choose another data directory.",
            SQLitePCL.raw.SQLITE_BUSY or SQLitePCL.raw.SQLITE_LOCKED =>
                $"'{FilePath}' is locked by another process ({reason}): stop the other hub or choose another data directory.",
            SQLitePCL.raw.SQLITE_FULL =>
                $"The disk holding '{FilePath}' is full ({reason}): free some space or choose another data directory.",
            _ => $"Cannot open the history database '{FilePath}' ({reason}): move it away or choose another data directory.",
        };
    }
}
