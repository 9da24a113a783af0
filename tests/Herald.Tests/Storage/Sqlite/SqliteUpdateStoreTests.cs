using Herald.Storage;
using Herald.Storage.Sqlite;
using Microsoft.Data.Sqlite;

namespace Herald.Tests.Storage.Sqlite;

public sealed class SqliteUpdateStoreTests : UpdateStoreSpec
{
    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "herald-tests", Guid.NewGuid().ToString("N"));

    private string DatabasePath => Path.Combine(_dataDir, SqliteUpdateStore.FileName);

    protected override bool SinkBeforeAppendCompletes => false;

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        if (Directory.Exists(_dataDir))
        {
            Directory.Delete(_dataDir, recursive: true);
        }
    }

    private protected override IUpdateStore CreateStore(StoreSettings settings, IUpdateSink sink) =>
        NewStore(settings.HistoryMaxCount, settings.HistoryMaxAge, settings.Time, sink: sink);

    private SqliteUpdateStore NewStore(long maxCount = 0, TimeSpan maxAge = default, TimeProvider? time = null, bool syncEveryCommit = false, string? dataDir = null, IUpdateSink? sink = null) =>
        new(
            new HeraldOptions { DataDir = dataDir ?? _dataDir, HistoryMaxCount = maxCount, HistoryMaxAge = maxAge, SyncEveryCommit = syncEveryCommit },
            sink ?? new TestSink(),
            time)
        {
            CleanupInterval = TimeSpan.FromMilliseconds(50),
        };

    [Fact]
    public async Task An_append_is_acknowledged_at_commit_without_waiting_for_the_fan_out_and_every_update_still_reaches_it_in_order()
    {
        // A fan-out held up (10,000 subscribers in a reconnect storm) must not hold up the next publisher's commit.
        using var release = new ManualResetEventSlim();
        var heard = new List<long>();
        var sink = new TestSink
        {
            Stored = stored =>
            {
                release.Wait(TimeSpan.FromSeconds(60));
                lock (heard)
                {
                    heard.Add(stored.Sequence);
                }
            },
        };
        var store = NewStore(sink: sink);
        await using (store)
        {
            await store.StartAsync(CancellationToken.None).Within();

            var acknowledged = new List<long>();
            for (var i = 0; i < 20; i++)
            {
                acknowledged.Add((await store.AppendAsync(NewUpdate(id: $"urn:test:held:{i}"), CancellationToken.None).Within()).Sequence);
            }

            lock (heard)
            {
                Assert.Empty(heard);
            }

            release.Set();
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            while (DateTime.UtcNow < deadline)
            {
                lock (heard)
                {
                    if (heard.Count == acknowledged.Count)
                    {
                        break;
                    }
                }

                await Task.Delay(10);
            }

            lock (heard)
            {
                Assert.Equal(acknowledged, heard);
            }
        }
    }

    [Fact]
    public async Task Stopping_hands_every_acknowledged_update_to_the_fan_out_first()
    {
        var heard = 0;
        var sink = new TestSink { Stored = _ => { Thread.Sleep(1); Interlocked.Increment(ref heard); } };
        var store = NewStore(sink: sink);
        await store.StartAsync(CancellationToken.None).Within();
        for (var i = 0; i < 200; i++)
        {
            await store.AppendAsync(NewUpdate(id: $"urn:test:stop:{i}"), CancellationToken.None).Within();
        }

        await store.DisposeAsync().AsTask().Within();

        Assert.Equal(200, Volatile.Read(ref heard));
    }

    [Theory]
    [InlineData(false, 1L)]
    [InlineData(true, 2L)]
    public async Task Creates_herald_db_in_the_data_dir_with_WAL_and_the_chosen_sync(bool syncEveryCommit, long synchronous)
    {
        var store = NewStore(syncEveryCommit: syncEveryCommit);
        await using (store)
        {
            await store.StartAsync(CancellationToken.None).Within();

            Assert.True(File.Exists(DatabasePath));
            Assert.Equal(DatabasePath, store.DatabasePath);
            Assert.Equal("wal", store.ExecuteOnWriterForTesting("PRAGMA journal_mode"));
            Assert.Equal(synchronous, store.ExecuteOnWriterForTesting("PRAGMA synchronous"));
        }
    }

    [Fact]
    public async Task Text_is_stored_as_UTF8_keeping_NUL_and_replacing_a_lone_surrogate()
    {
        var store = NewStore();
        await using (store)
        {
            await store.StartAsync(CancellationToken.None).Within();
            await store.AppendAsync(new Update { Topics = ["t"], EventId = "nul-1", Data = "a\0b \ud800 c", EventType = "t\0u" }, CancellationToken.None).Within();
            await store.AppendAsync(new Update { Topics = ["t"], EventId = "", Data = "" }, CancellationToken.None).Within();

            var read = await store.ReadAllAsync();

            Assert.Equal("a\0b \ufffd c", read[0].Update.Data);
            Assert.Equal("t\0u", read[0].Update.EventType);
            Assert.Equal("", read[1].Id);
            Assert.Equal("", read[1].Update.Data);
        }
    }

    [Fact]
    public async Task The_log_is_copied_into_the_database_beside_the_writer()
    {
        var store = NewStore();
        await using (store)
        {
            await store.StartAsync(CancellationToken.None).Within();

            // SQLite's automatic checkpoint is off on the writer; the checkpoint thread does it instead.
            Assert.Equal(0L, store.ExecuteOnWriterForTesting("PRAGMA wal_autocheckpoint"));

            var data = new string('x', 1000);
            var appends = Enumerable.Range(0, 6000).Select(i => store.AppendAsync(NewUpdate(data: data), CancellationToken.None).AsTask());
            await Task.WhenAll(appends).Within();

            // Well over a thousand pages went to the log; without checkpoints the database file would stay empty.
            await TestTimeouts.EventuallyAsync(
                () => Task.FromResult(new FileInfo(DatabasePath).Length > 1024 * 1024),
                "the database file receives the logged pages");
        }
    }

    [Fact]
    public async Task Under_a_steady_stream_of_publishes_and_a_reader_holding_a_snapshot_the_log_stays_within_its_bound()
    {
        const long Bound = 8L * 1024 * 1024;

        // The bound holds to within one batch: eight publishers make batches of at most eight 1.5 KB updates.
        const long OneBatch = 1024 * 1024;
        var store = new SqliteUpdateStore(new HeraldOptions { DataDir = _dataDir }, new TestSink()) { MaxLogBytes = Bound };
        await using (store)
        {
            await store.StartAsync(CancellationToken.None).Within();
            var log = new FileInfo(DatabasePath + "-wal");
            long largest = 0;
            void Sample()
            {
                log.Refresh();
                largest = Math.Max(largest, log.Exists ? log.Length : 0);
            }

            // A reader on an old snapshot: no checkpoint can copy past it, so without the bound the log holds every
            // page written (about 30 MB here). The writer restarting the log has to wait for it.
            await using var reader = new SqliteConnection($"Data Source={DatabasePath};Mode=ReadOnly;Pooling=False");
            await reader.OpenAsync().Within();
            var snapshot = reader.BeginTransaction();
            using (var command = reader.CreateCommand())
            {
                command.Transaction = snapshot;
                command.CommandText = "SELECT count(*) FROM updates";
                await command.ExecuteScalarAsync().Within();
            }

            var data = new string('x', 1500);
            var next = 0;
            async Task PublishAsync()
            {
                while (Interlocked.Increment(ref next) <= 12_000)
                {
                    await store.AppendAsync(NewUpdate(data: data), CancellationToken.None);
                }
            }

            var publishing = Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(PublishAsync)));

            // Hold the snapshot until the writer starts restarting the log (it then waits for it) or everything is in.
            var deadline = DateTime.UtcNow.AddMinutes(2);
            while (store.LogRestarts == 0 && !publishing.IsCompleted)
            {
                Assert.True(DateTime.UtcNow < deadline, "neither a log restart nor the end of publishing came");
                Sample();
                await Task.Delay(5);
            }

            Sample();
            snapshot.Dispose();
            await reader.CloseAsync();
            while (!publishing.IsCompleted)
            {
                Assert.True(DateTime.UtcNow < deadline, "publishing did not end");
                Sample();
                await Task.Delay(5);
            }

            await publishing.WaitAsync(TimeSpan.FromMinutes(2));
            Sample();
            Assert.True(largest <= Bound + OneBatch, $"the log grew to {largest / 1024} KB against a bound of {Bound / 1024} KB");
            Assert.True(store.LogRestarts > 0);
            Assert.Equal(12_000, store.LastSequence);
        }
    }

    [Fact]
    public async Task Reopening_keeps_history_and_continues_the_sequence()
    {
        var before = new List<StoredUpdate>();
        var first = NewStore();
        await using (first)
        {
            await first.StartAsync(CancellationToken.None).Within();
            for (var i = 0; i < 20; i++)
            {
                before.Add(await first.AppendAsync(NewUpdate(data: $"#{i}"), CancellationToken.None).Within());
            }
        }

        var second = NewStore();
        await using (second)
        {
            await second.StartAsync(CancellationToken.None).Within();

            Assert.Equal(before[^1].Sequence, second.LastSequence);
            Assert.Equal(before.Describe(), (await second.ReadAllAsync()).Describe());
            Assert.Equal(before[7].Sequence, await second.FindSequenceAsync(before[7].Id, CancellationToken.None).Within());
            var next = await second.AppendAsync(NewUpdate(), CancellationToken.None).Within();
            Assert.Equal(before[^1].Sequence + 1, next.Sequence);
            await Assert.ThrowsAsync<DuplicateUpdateIdException>(() => second.AppendAsync(NewUpdate(id: before[0].Id), CancellationToken.None).Within());
        }
    }

    [Fact]
    public async Task Reopening_after_retention_emptied_history_still_continues_the_sequence()
    {
        var clock = new ManualClock();
        long last;
        var first = NewStore(maxAge: TimeSpan.FromHours(1), time: clock);
        await using (first)
        {
            await first.StartAsync(CancellationToken.None).Within();
            for (var i = 0; i < 3; i++)
            {
                await first.AppendAsync(NewUpdate(), CancellationToken.None).Within();
            }

            last = first.LastSequence;
            clock.Advance(TimeSpan.FromHours(2));
            await TestTimeouts.EventuallyAsync(async () => (await first.ReadAllAsync()).Count == 0, "history is empty");
        }

        var second = NewStore(maxAge: TimeSpan.FromHours(1), time: clock);
        await using (second)
        {
            await second.StartAsync(CancellationToken.None).Within();

            Assert.Equal(last, second.LastSequence);
            var next = await second.AppendAsync(NewUpdate(), CancellationToken.None).Within();
            Assert.Equal(last + 1, next.Sequence);
        }
    }

    [Fact]
    public async Task A_file_that_is_not_a_database_fails_start_with_a_message_naming_it()
    {
        Directory.CreateDirectory(_dataDir);
        await File.WriteAllBytesAsync(DatabasePath, Enumerable.Range(0, 8192).Select(i => (byte)(i * 7919 % 251)).ToArray()).Within();

        var store = NewStore();
        await using (store)
        {
            var error = await Assert.ThrowsAsync<HistoryStoreException>(() => store.StartAsync(CancellationToken.None).Within());

            Assert.Equal(
                $"'{DatabasePath}' is not a Herald database (file is not a database): move it away or choose another data directory.",
                error.Message);
            await Assert.ThrowsAsync<InvalidOperationException>(async () => await store.AppendAsync(NewUpdate(), CancellationToken.None).Within());
        }
    }

    [Fact]
    public async Task Another_applications_database_is_refused()
    {
        Directory.CreateDirectory(_dataDir);
        using (var other = new SqliteConnection($"Data Source={DatabasePath};Pooling=False"))
        {
            other.Open();
            using var command = other.CreateCommand();
            command.CommandText = "CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)";
            command.ExecuteNonQuery();
        }

        var store = NewStore();
        await using (store)
        {
            var error = await Assert.ThrowsAsync<HistoryStoreException>(() => store.StartAsync(CancellationToken.None).Within());

            Assert.Contains(DatabasePath, error.Message, StringComparison.Ordinal);
            Assert.Contains("is not a Herald database", error.Message, StringComparison.Ordinal);
            Assert.Contains("choose another data directory", error.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_database_of_a_newer_Herald_is_refused()
    {
        var first = NewStore();
        await using (first)
        {
            await first.StartAsync(CancellationToken.None).Within();
            first.ExecuteOnWriterForTesting("PRAGMA user_version=99");
        }

        var second = NewStore();
        await using (second)
        {
            var error = await Assert.ThrowsAsync<HistoryStoreException>(() => second.StartAsync(CancellationToken.None).Within());

            Assert.Contains("newer Herald", error.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_second_store_on_the_same_data_dir_is_refused_until_the_first_is_closed()
    {
        var first = NewStore();
        await first.StartAsync(CancellationToken.None).Within();
        await first.AppendAsync(NewUpdate(), CancellationToken.None).Within();

        var second = NewStore();
        await using (second)
        {
            var error = await Assert.ThrowsAsync<HistoryStoreException>(() => second.StartAsync(CancellationToken.None).Within());
            Assert.StartsWith($"'{DatabasePath}' is in use by another Herald process (", error.Message, StringComparison.Ordinal);
            Assert.EndsWith("): stop it or choose another data directory.", error.Message, StringComparison.Ordinal);

            await first.DisposeAsync().Within();

            // A failed start can be retried once the cause is gone.
            await second.StartAsync(CancellationToken.None).Within();
            Assert.Equal(1, second.LastSequence);
        }
    }

    [Fact]
    public async Task A_data_dir_that_cannot_be_created_fails_start_with_a_message_naming_it()
    {
        // A directory below a regular file cannot exist, even for root (tests may run as root, where
        // permission bits would not stop anything).
        Directory.CreateDirectory(_dataDir);
        var blocker = Path.Combine(_dataDir, "a-file");
        await File.WriteAllTextAsync(blocker, "not a directory").Within();
        var dataDir = Path.Combine(blocker, "data");

        var store = NewStore(dataDir: dataDir);
        await using (store)
        {
            var error = await Assert.ThrowsAsync<HistoryStoreException>(() => store.StartAsync(CancellationToken.None).Within());

            Assert.StartsWith($"Cannot create the data directory '{dataDir}' (", error.Message, StringComparison.Ordinal);
            Assert.EndsWith("): make it writable by this user or choose another data directory.", error.Message, StringComparison.Ordinal);
            Assert.DoesNotContain('\n', error.Message);
        }
    }

    [Fact]
    public async Task A_database_file_that_cannot_be_opened_fails_start_with_a_message_naming_it()
    {
        // herald.db as a directory: SQLite cannot open it whoever runs the test.
        Directory.CreateDirectory(DatabasePath);

        var store = NewStore();
        await using (store)
        {
            var error = await Assert.ThrowsAsync<HistoryStoreException>(() => store.StartAsync(CancellationToken.None).Within());

            Assert.Equal(
                $"Cannot write the history database '{DatabasePath}' (unable to open database file): make it and its directory writable by this user or choose another data directory.",
                error.Message);
        }
    }

    [Fact]
    public async Task A_read_only_disk_fails_appends_with_StoreUnavailable_keeps_acked_updates_and_recovers()
    {
        var heard = new List<long>();
        var store = NewStore(sink: new TestSink
        {
            Stored = stored =>
            {
                lock (heard)
                {
                    heard.Add(stored.Sequence);
                }
            },
        });
        await using (store)
        {
            await store.StartAsync(CancellationToken.None).Within();
            var acked = new List<StoredUpdate>();
            for (var i = 0; i < 5; i++)
            {
                acked.Add(await store.AppendAsync(NewUpdate(), CancellationToken.None).Within());
            }

            store.ExecuteOnWriterForTesting("PRAGMA query_only=1");
            var failures = Enumerable.Range(0, 8).Select(_ => store.AppendAsync(NewUpdate(), CancellationToken.None).AsTask()).ToList();
            foreach (var failure in failures)
            {
                var error = await Assert.ThrowsAsync<StoreUnavailableException>(() => failure.Within());
                Assert.Contains(DatabasePath, error.Message, StringComparison.Ordinal);
            }

            Assert.Equal(acked.Describe(), (await store.ReadAllAsync()).Describe());
            Assert.Equal(acked[^1].Sequence, store.LastSequence);

            store.ExecuteOnWriterForTesting("PRAGMA query_only=0");
            var after = await store.AppendAsync(NewUpdate(), CancellationToken.None).Within();

            Assert.Equal(acked[^1].Sequence + 1, after.Sequence);
            Assert.Equal(acked.Append(after).Describe(), (await store.ReadAllAsync()).Describe());
            Assert.Equal([.. acked.Select(s => s.Sequence), after.Sequence], await HeardAsync(heard, acked.Count + 1));
        }
    }

    [Fact]
    public async Task A_full_disk_fails_appends_with_StoreUnavailable_keeps_acked_updates_and_recovers()
    {
        var store = NewStore();
        await using (store)
        {
            await store.StartAsync(CancellationToken.None).Within();
            var acked = new List<StoredUpdate>();
            for (var i = 0; i < 5; i++)
            {
                acked.Add(await store.AppendAsync(NewUpdate(), CancellationToken.None).Within());
            }

            // The file may not grow beyond what it has: the next pages the inserts need are "disk full".
            var pages = (long)store.ExecuteOnWriterForTesting("PRAGMA page_count")!;
            store.ExecuteOnWriterForTesting($"PRAGMA max_page_count={pages}");
            var payload = new string('x', 8000);
            StoreUnavailableException? full = null;
            for (var i = 0; i < 1_000 && full is null; i++)
            {
                try
                {
                    acked.Add(await store.AppendAsync(NewUpdate(data: payload), CancellationToken.None).Within());
                }
                catch (StoreUnavailableException ex)
                {
                    full = ex;
                }
            }

            Assert.NotNull(full);
            Assert.Contains("full", full.Message, StringComparison.Ordinal);
            Assert.Equal(acked.Select(s => s.Id), (await store.ReadAllAsync()).Select(s => s.Id));

            store.ExecuteOnWriterForTesting("PRAGMA max_page_count=1073741823");
            var after = await store.AppendAsync(NewUpdate(data: payload), CancellationToken.None).Within();

            Assert.Equal(acked[^1].Sequence + 1, after.Sequence);
        }
    }
}
