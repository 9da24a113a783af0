using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace Herald.Storage.Sqlite;

/// <summary>
/// Whether the history can be written now, for readiness probes. A commit of the group commit proves it at no cost
/// and a failed batch disproves it; when neither happened for <see cref="Interval"/> (an idle hub), one probe writes a
/// row of <c>meta</c> (<c>write_probe</c>, the time) on the writer connection: a real write transaction, so a
/// read-only file, a full disk or a lost lock fails it, and it puts nothing into history.
/// </summary>
/// <remarks>
/// Probes come as often as anyone asks; at most one write per <see cref="Interval"/> reaches the database, and
/// callers meanwhile get the last answer, so asking costs no disk work and never waits for the writer's lock behind
/// another probe. The write takes the writer's lock for one small transaction, between batches, never the hub's, and
/// goes through the checkpoint hooks as a batch does: automatic checkpoints are off, so on a hub that is probed but
/// never published to the log would otherwise grow by a page per probe, for ever.
/// </remarks>
internal sealed class SqliteWriteProbe(SqliteDatabase database, SqliteCheckpoints checkpoints, TimeProvider time, ILogger logger)
{
    /// <summary>How long a proof (a commit, a failed batch, a probe) stands before the next probe writes.</summary>
    internal static readonly TimeSpan Interval = TimeSpan.FromSeconds(2);

    private readonly Lock _gate = new();
    private long _provenAt;
    private bool _known;
    private bool _writable;
    private bool _failedByProbe;
    private bool _probing;

    /// <summary>A batch committed.</summary>
    public void Committed() => Record(writable: true, byProbe: false);

    /// <summary>A batch failed (the group commit logged it).</summary>
    public void Failed() => Record(writable: false, byProbe: false);

    /// <summary>Whether the history takes writes now: the last proof, or a probe when it is older than <see cref="Interval"/>.</summary>
    public bool IsWritable()
    {
        lock (_gate)
        {
            if (_probing || (_known && time.GetElapsedTime(_provenAt) < Interval))
            {
                return _known && _writable;
            }

            _probing = true;
        }

        var writable = false;
        try
        {
            writable = Probe();
        }
        finally
        {
            lock (_gate)
            {
                _probing = false;
            }

            Record(writable, byProbe: true);
        }

        return writable;
    }

    private bool Probe()
    {
        lock (database.WriteGate)
        {
            if (database.Writer is not { } writer || database.Batch is not { } batch)
            {
                return false;
            }

            try
            {
                checkpoints.BeforeBatch();
                using var command = writer.CreateCommand();
                command.CommandText = "INSERT INTO meta (key, value) VALUES ('write_probe', $now) ON CONFLICT (key) DO UPDATE SET value = excluded.value";
                command.Parameters.AddWithValue("$now", time.GetUtcNow().ToUnixTimeMilliseconds());
                command.ExecuteNonQuery();
                checkpoints.AfterCommit(batch.TakeFramesWritten());
                return true;
            }
            catch (SqliteException ex)
            {
                logger.ProbeFailed(ex, database.FilePath);
                return false;
            }
        }
    }

    private void Record(bool writable, bool byProbe)
    {
        bool failing;
        bool recovered;
        lock (_gate)
        {
            failing = byProbe && !writable && (!_known || _writable);
            recovered = writable && _known && !_writable && _failedByProbe;
            _failedByProbe = !writable && byProbe && (failing || _failedByProbe);
            _known = true;
            _writable = writable;
            _provenAt = time.GetTimestamp();
        }

        if (failing)
        {
            logger.ProbeFailing(database.FilePath);
        }
        else if (recovered)
        {
            logger.ProbeRecovered(database.FilePath);
        }
    }
}
