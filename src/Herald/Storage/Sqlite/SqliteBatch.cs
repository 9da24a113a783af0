using System.Buffers;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Herald.Storage.Sqlite;

/// <summary>
/// The writer's statements for a group commit (<c>BEGIN</c>, the history's <c>INSERT</c>, <c>COMMIT</c>), prepared
/// once on the writer connection and run through SQLite's own API.
/// </summary>
/// <remarks>
/// Group commit makes a row the unit of work, and through <see cref="SqliteCommand"/> a row cost a data reader,
/// a boxed value per parameter and a type switch per binding, several times what SQLite itself spends; a
/// transaction cost two statements prepared anew. Here a row is eight binds, one step and one reset, with no
/// allocation. Text is bound as the UTF-8 the command would bind, errors surface as the same
/// <see cref="SqliteException"/>, after the same retries while the file is busy.
/// </remarks>
internal sealed class SqliteBatch : IDisposable
{
    /// <summary>SQLITE_CONSTRAINT_UNIQUE: the id is taken (the only unique column besides the sequence we assign).</summary>
    public const int ConstraintUnique = 2067;

    private const int Seq = 1;
    private const int Id = 2;
    private const int Topics = 3;
    private const int Data = 4;
    private const int Private = 5;
    private const int Type = 6;
    private const int Retry = 7;
    private const int StoredAt = 8;

    /// <summary>As long as a <see cref="SqliteCommand"/> waits for a busy file (its default CommandTimeout)…</summary>
    private static readonly TimeSpan BusyTimeout = TimeSpan.FromSeconds(30);

    /// <summary>…retrying as often as it does.</summary>
    private static readonly TimeSpan BusyRetryDelay = TimeSpan.FromMilliseconds(150);

    private readonly sqlite3 _db;
    private readonly sqlite3_stmt _begin;
    private readonly sqlite3_stmt _insert;
    private readonly sqlite3_stmt _commit;
    private readonly sqlite3_stmt _rollback;
    private readonly ArrayBufferWriter<byte> _topics = new(256);
    private readonly Utf8JsonWriter _json;
    private byte[] _text = new byte[1024];

    private SqliteBatch(sqlite3 db, sqlite3_stmt begin, sqlite3_stmt insert, sqlite3_stmt commit, sqlite3_stmt rollback)
    {
        _db = db;
        _begin = begin;
        _insert = insert;
        _commit = commit;
        _rollback = rollback;
        _json = new Utf8JsonWriter(_topics);
    }

    public enum Outcome
    {
        Inserted,

        /// <summary>The id is already in history (nothing was written).</summary>
        DuplicateId,

        /// <summary>A topic is not valid UTF-16 (a lone surrogate), so it cannot be stored as text.</summary>
        InvalidTopic,
    }

    /// <summary>Prepares the statements on <paramref name="connection"/>, which must stay open while this lives.</summary>
    public static SqliteBatch Prepare(SqliteConnection connection, string columns)
    {
        ArgumentNullException.ThrowIfNull(connection);
        var db = connection.Handle ?? throw new InvalidOperationException("The connection is not open.");
        var prepared = new List<sqlite3_stmt>(4);
        try
        {
            foreach (var sql in new[]
            {
                "BEGIN",
                $"INSERT INTO updates ({columns}) VALUES (?{Seq}, ?{Id}, ?{Topics}, ?{Data}, ?{Private}, ?{Type}, ?{Retry}, ?{StoredAt})",
                "COMMIT",
                "ROLLBACK",
            })
            {
                var rc = raw.sqlite3_prepare_v3(db, sql, raw.SQLITE_PREPARE_PERSISTENT, out var statement);
                if (rc != raw.SQLITE_OK)
                {
                    statement?.Dispose();
                    SqliteException.ThrowExceptionForRC(rc, db);
                }

                prepared.Add(statement!);
            }

            var batch = new SqliteBatch(db, prepared[0], prepared[1], prepared[2], prepared[3]);
            prepared.Clear();
            return batch;
        }
        finally
        {
            foreach (var statement in prepared)
            {
                statement.Dispose();
            }
        }
    }

    /// <summary>Starts the batch's transaction (deferred, as <see cref="SqliteConnection.BeginTransaction()"/>).</summary>
    public void Begin() => Run(_begin);

    /// <summary>Commits the batch; on failure, <see cref="RollBack"/> what is left.</summary>
    public void Commit() => Run(_commit);

    /// <summary>Log frames (pages) the connection has written since the last call.</summary>
    public int TakeFramesWritten()
    {
        const int CacheWrite = 9; // SQLITE_DBSTATUS_CACHE_WRITE: in WAL mode, pages written to the log.
        return raw.sqlite3_db_status(_db, CacheWrite, out var written, out _, 1) == raw.SQLITE_OK ? written : 0;
    }

    /// <summary>Rolls back the open transaction, if SQLite has not already (it does on some I/O errors).</summary>
    public void RollBack()
    {
        if (raw.sqlite3_get_autocommit(_db) == 0)
        {
            Run(_rollback);
        }
    }

    /// <summary>
    /// Inserts one row in the current transaction (with <paramref name="invalidTopic"/>, why a topic cannot be
    /// stored). A failure other than <see cref="Outcome"/>'s throws <see cref="SqliteException"/>; either way the
    /// statement is ready for the next row.
    /// </summary>
    public Outcome Insert(long sequence, Update update, long storedAt, out ArgumentException? invalidTopic)
    {
        ReadOnlySpan<byte> topics;
        try
        {
            topics = TopicsJson.Write(update.Topics, _json, _topics);
            invalidTopic = null;
        }
        catch (ArgumentException ex)
        {
            invalidTopic = ex;
            return Outcome.InvalidTopic;
        }

        Check(raw.sqlite3_bind_int64(_insert, Seq, sequence));
        Check(BindText(Id, update.EventId));
        Check(raw.sqlite3_bind_text(_insert, Topics, topics));
        Check(BindText(Data, update.Data));
        Check(raw.sqlite3_bind_int64(_insert, Private, update.Private ? 1 : 0));
        Check(BindText(Type, update.EventType));
        Check(update.ReconnectionInterval is { } retry
            ? raw.sqlite3_bind_int64(_insert, Retry, (long)retry.TotalMilliseconds)
            : raw.sqlite3_bind_null(_insert, Retry));
        Check(raw.sqlite3_bind_int64(_insert, StoredAt, storedAt));
        return Run(_insert) == ConstraintUnique ? Outcome.DuplicateId : Outcome.Inserted;
    }

    public void Dispose()
    {
        _begin.Dispose();
        _insert.Dispose();
        _commit.Dispose();
        _rollback.Dispose();
        _json.Dispose();
    }

    /// <summary>
    /// Steps a statement to its end and resets it. Returns 0, or <see cref="ConstraintUnique"/> (for the insert,
    /// which the caller reports per row); any other failure throws.
    /// </summary>
    private int Run(sqlite3_stmt statement)
    {
        var waitingSince = 0L;
        while (true)
        {
            var rc = raw.sqlite3_step(statement);
            if (rc == raw.SQLITE_DONE)
            {
                raw.sqlite3_reset(statement);
                return 0;
            }

            if (rc is raw.SQLITE_BUSY or raw.SQLITE_LOCKED)
            {
                waitingSince = waitingSince == 0 ? Stopwatch.GetTimestamp() : waitingSince;
                if (Stopwatch.GetElapsedTime(waitingSince) < BusyTimeout)
                {
                    raw.sqlite3_reset(statement);
                    Thread.Sleep(BusyRetryDelay);
                    continue;
                }
            }

            if (raw.sqlite3_extended_errcode(_db) == ConstraintUnique)
            {
                raw.sqlite3_reset(statement);
                return ConstraintUnique;
            }

            try
            {
                // Reads the connection's message before the reset can replace it.
                SqliteException.ThrowExceptionForRC(rc, _db);
            }
            finally
            {
                raw.sqlite3_reset(statement);
            }
        }
    }

    private int BindText(int index, string? value)
    {
        if (value is null)
        {
            return raw.sqlite3_bind_null(_insert, index);
        }

        if (value.Length == 0)
        {
            // An empty span has no address, and SQLite reads a null pointer as NULL: bind '' as a terminated string.
            return raw.sqlite3_bind_text(_insert, index, utf8z.FromSpan("\0"u8));
        }

        // The bytes SqliteCommand binds (Encoding.UTF8, so a lone surrogate becomes U+FFFD); SQLite copies them.
        var length = Encoding.UTF8.GetMaxByteCount(value.Length);
        if (length > _text.Length)
        {
            _text = new byte[Math.Max(length, _text.Length * 2)];
        }

        var written = Encoding.UTF8.GetBytes(value, _text);
        return raw.sqlite3_bind_text(_insert, index, _text.AsSpan(0, written));
    }

    private void Check(int rc)
    {
        if (rc != raw.SQLITE_OK)
        {
            SqliteException.ThrowExceptionForRC(rc, _db);
        }
    }
}
