using System.Runtime.CompilerServices;
using Microsoft.Data.Sqlite;

namespace Herald.Storage.Sqlite;

/// <summary>
/// Reads on pooled connections of their own, beside the writer (WAL lets them): replay after a position, a page
/// at a time, and the position of an id.
/// </summary>
internal sealed class SqliteHistoryReader(SqliteDatabase database, StoreLifecycle life)
{
    private const int PageSize = 512;

    public async ValueTask<long?> FindSequenceAsync(string id, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(id);
        life.ThrowIfNotRunning();
        var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
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
        life.ThrowIfNotRunning();
        var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            using var command = connection.CreateCommand();
            command.CommandText = $"SELECT {SqliteDatabase.Columns} FROM updates WHERE seq > $after AND seq <= $upTo ORDER BY seq LIMIT {PageSize}";
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

    /// <summary>Opens a pooled read connection; the caller disposes it.</summary>
    public async Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(database.ReadConnectionString);
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
            EventId = reader.GetString(1),
            Topics = TopicsJson.Parse(reader.GetString(2)),
            Data = reader.IsDBNull(3) ? null : reader.GetString(3),
            Private = reader.GetInt64(4) != 0,
            EventType = reader.IsDBNull(5) ? null : reader.GetString(5),
            ReconnectionInterval = reader.IsDBNull(6) ? null : TimeSpan.FromMilliseconds(reader.GetInt64(6)),
        };
        return new StoredUpdate(reader.GetInt64(0), update, DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(7)));
    }
}
