using System.Buffers;
using System.Diagnostics;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Herald.Storage;

/// <summary>
/// The history's <c>INSERT</c>, prepared once on the writer connection and run through SQLite's own API.
/// </summary>
/// <remarks>
/// Group commit makes a row the unit of work: each one through <see cref="SqliteCommand"/> cost a data reader,
/// a boxed value per parameter and a type switch per binding, several times what SQLite itself spends. Here a
/// row is eight binds, one step and one reset, with no allocation; errors surface as the same
/// <see cref="SqliteException"/> the command would throw, after the same retries while the file is busy.
/// </remarks>
internal sealed class SqliteInsert : IDisposable
{
    /// <summary>SQLITE_CONSTRAINT_UNIQUE: the id is taken (the only unique column besides the sequence we assign).</summary>
    public const int ConstraintUnique = 2067;

    /// <summary>As long as a <see cref="SqliteCommand"/> waits for a busy file (its default CommandTimeout)…</summary>
    private static readonly TimeSpan BusyTimeout = TimeSpan.FromSeconds(30);

    /// <summary>…retrying as often as it does.</summary>
    private static readonly TimeSpan BusyRetryDelay = TimeSpan.FromMilliseconds(150);

    private const int Seq = 1;
    private const int Id = 2;
    private const int Topics = 3;
    private const int Data = 4;
    private const int Private = 5;
    private const int Type = 6;
    private const int Retry = 7;
    private const int StoredAt = 8;

    private readonly sqlite3 _db;
    private readonly sqlite3_stmt _statement;
    private readonly ArrayBufferWriter<byte> _topics = new(256);
    private readonly Utf8JsonWriter _json;

    private SqliteInsert(sqlite3 db, sqlite3_stmt statement)
    {
        _db = db;
        _statement = statement;
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

    /// <summary>Prepares the statement on <paramref name="connection"/>, which must stay open while this lives.</summary>
    public static SqliteInsert Prepare(SqliteConnection connection, string columns)
    {
        ArgumentNullException.ThrowIfNull(connection);
        var db = connection.Handle ?? throw new InvalidOperationException("The connection is not open.");
        var rc = raw.sqlite3_prepare_v3(
            db,
            $"INSERT INTO updates ({columns}) VALUES (?{Seq}, ?{Id}, ?{Topics}, ?{Data}, ?{Private}, ?{Type}, ?{Retry}, ?{StoredAt})",
            raw.SQLITE_PREPARE_PERSISTENT,
            out var statement);
        if (rc != raw.SQLITE_OK)
        {
            statement?.Dispose();
            SqliteException.ThrowExceptionForRC(rc, db);
        }

        return new SqliteInsert(db, statement!);
    }

    /// <summary>
    /// Inserts one row in the current transaction (with <paramref name="invalidTopic"/>, why a topic cannot be
    /// stored). A failure other than <see cref="Outcome"/>'s throws
    /// <see cref="SqliteException"/>; either way the statement is ready for the next row.
    /// </summary>
    public Outcome Execute(long sequence, Update update, long storedAt, out ArgumentException? invalidTopic)
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

        Check(raw.sqlite3_bind_int64(_statement, Seq, sequence));
        Check(BindText(Id, update.Id));
        Check(raw.sqlite3_bind_text(_statement, Topics, topics));
        Check(BindText(Data, update.Data));
        Check(raw.sqlite3_bind_int64(_statement, Private, update.Private ? 1 : 0));
        Check(BindText(Type, update.Type));
        Check(update.Retry is { } retry
            ? raw.sqlite3_bind_int64(_statement, Retry, (long)retry.TotalMilliseconds)
            : raw.sqlite3_bind_null(_statement, Retry));
        Check(raw.sqlite3_bind_int64(_statement, StoredAt, storedAt));

        var started = 0L;
        while (true)
        {
            var rc = raw.sqlite3_step(_statement);
            if (rc == raw.SQLITE_DONE)
            {
                raw.sqlite3_reset(_statement);
                return Outcome.Inserted;
            }

            var extended = raw.sqlite3_extended_errcode(_db);
            if (rc is raw.SQLITE_BUSY or raw.SQLITE_LOCKED)
            {
                started = started == 0 ? Stopwatch.GetTimestamp() : started;
                if (Stopwatch.GetElapsedTime(started) < BusyTimeout)
                {
                    raw.sqlite3_reset(_statement);
                    Thread.Sleep(BusyRetryDelay);
                    continue;
                }
            }

            if (extended == ConstraintUnique)
            {
                raw.sqlite3_reset(_statement);
                return Outcome.DuplicateId;
            }

            try
            {
                // Reads the connection's message before the reset can replace it.
                SqliteException.ThrowExceptionForRC(rc, _db);
            }
            finally
            {
                raw.sqlite3_reset(_statement);
            }
        }
    }

    public void Dispose()
    {
        _statement.Dispose();
        _json.Dispose();
    }

    private int BindText(int index, string? value)
    {
        if (value is null)
        {
            return raw.sqlite3_bind_null(_statement, index);
        }

        // An empty span has no address, and SQLite reads a null pointer as NULL: bind '' as a terminated string.
        return value.Length == 0
            ? raw.sqlite3_bind_text(_statement, index, utf8z.FromSpan("\0"u8))
            : raw.sqlite3_bind_text16(_statement, index, value);
    }

    private void Check(int rc)
    {
        if (rc != raw.SQLITE_OK)
        {
            SqliteException.ThrowExceptionForRC(rc, _db);
        }
    }
}
