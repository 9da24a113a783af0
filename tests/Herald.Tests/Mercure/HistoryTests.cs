using System.Net;
using System.Text;
using Herald.Tests.Infrastructure;

namespace Herald.Tests.Mercure;

/// <summary>Resuming with Last-Event-ID: exactly what was missed, in order, then live updates.</summary>
public sealed class HistoryTests
{
    private static Task<TestHub> Start(bool sqlite = true, params (string Key, string Value)[] more)
    {
        var settings = new Dictionary<string, string?> { ["Herald:Anonymous"] = "true" };
        if (!sqlite)
        {
            settings["Herald:DataDir"] = null;
        }

        foreach (var (key, value) in more)
        {
            settings[key] = value;
        }

        return TestHub.StartAsync(settings);
    }

    private static async Task<List<string>> Publish(TestHub hub, string topic, int count, string prefix = "u")
    {
        var ids = new List<string>();
        for (var i = 0; i < count; i++)
        {
            ids.Add(await hub.PublishAsync(topic, prefix + i));
        }

        return ids;
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Last_Event_ID_header_replays_what_came_after_then_goes_live(bool sqlite)
    {
        await using var hub = await Start(sqlite);
        var ids = await Publish(hub, "https://example.com/t", 5);

        await using var reader = await hub.SubscribeAsync("topic=https://example.com/t", lastEventId: ids[1]);
        Assert.Equal(ids[1], reader.Response.Headers.GetValues("Last-Event-ID").Single());
        for (var i = 2; i < 5; i++)
        {
            var item = await reader.NextAsync();
            Assert.Equal("u" + i, item?.Data);
            Assert.Equal(ids[i], item?.EventId);
        }

        await hub.PublishAsync("https://example.com/t", "live");
        Assert.Equal("live", (await reader.NextAsync())?.Data);
    }

    [Fact]
    public async Task The_lastEventID_query_parameter_works_and_the_header_wins()
    {
        await using var hub = await Start();
        var ids = await Publish(hub, "https://example.com/t", 4);

        await using var byQuery = await hub.SubscribeAsync("topic=https://example.com/t&lastEventID=" + Uri.EscapeDataString(ids[2]));
        await using var both = await hub.SubscribeAsync("topic=https://example.com/t&lastEventID=" + Uri.EscapeDataString(ids[0]), lastEventId: ids[2]);

        Assert.Equal("u3", (await byQuery.NextAsync())?.Data);
        Assert.Equal("u3", (await both.NextAsync())?.Data);
        Assert.Equal(ids[2], both.Response.Headers.GetValues("Last-Event-ID").Single());
    }

    [Fact]
    public async Task Earliest_replays_all_history_matching_the_selectors()
    {
        await using var hub = await Start();
        await hub.PublishAsync("https://example.com/a", "a0");
        await hub.PublishAsync("https://example.com/b", "b0");
        await hub.PublishAsync("https://example.com/a", "a1");

        await using var reader = await hub.SubscribeAsync("topic=https://example.com/a&lastEventID=earliest");

        Assert.Equal("earliest", reader.Response.Headers.GetValues("Last-Event-ID").Single());
        Assert.Equal("a0", (await reader.NextAsync())?.Data);
        Assert.Equal("a1", (await reader.NextAsync())?.Data);
    }

    [Fact]
    public async Task An_unknown_id_replays_nothing_and_answers_earliest_never_the_newest_id()
    {
        await using var hub = await Start();
        await Publish(hub, "https://example.com/t", 3);

        // The newest stored update is private: naming it to an anonymous subscriber would leak its id.
        var secret = await hub.PublishAsync("https://example.com/secret", "s", isPrivate: true);
        await using var reader = await hub.SubscribeAsync("topic=https://example.com/t", lastEventId: "urn:uuid:not-a-known-id");
        await hub.PublishAsync("https://example.com/t", "live");

        Assert.Equal("earliest", reader.Response.Headers.GetValues("Last-Event-ID").Single());
        if (reader.Response.Headers.TryGetValues("Mercure-Last-Event-ID", out var mercure))
        {
            Assert.Equal("earliest", mercure.Single());
        }

        Assert.DoesNotContain(reader.Response.Headers, h => h.Value.Any(v => v.Contains(secret, StringComparison.Ordinal)));
        Assert.Equal("live", (await reader.NextAsync())?.Data);
    }

    [Fact]
    public async Task Private_updates_are_replayed_only_to_subscribers_allowed_to_see_them()
    {
        await using var hub = await Start();
        await hub.PublishAsync("https://example.com/p", "secret", isPrivate: true);
        await hub.PublishAsync("https://example.com/p", "public");

        await using var anonymous = await hub.SubscribeAsync("topic=https://example.com/p&lastEventID=earliest");
        await using var allowed = await hub.SubscribeAsync("topic=https://example.com/p&lastEventID=earliest", TestHub.SubscriberToken("https://example.com/p"));

        Assert.Equal("public", (await anonymous.NextAsync())?.Data);
        Assert.Equal("secret", (await allowed.NextAsync())?.Data);
        Assert.Equal("public", (await allowed.NextAsync())?.Data);
    }

    [Fact]
    public async Task A_duplicate_custom_id_is_refused_with_409_and_the_first_is_kept()
    {
        await using var hub = await Start();
        using var first = await hub.PostAsync([new("topic", "https://example.com/t"), new("data", "first"), new("id", "dup-1")]);
        using var second = await hub.PostAsync([new("topic", "https://example.com/t"), new("data", "second"), new("id", "dup-1")]);

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, second.StatusCode);
        await using var reader = await hub.SubscribeAsync("topic=https://example.com/t&lastEventID=earliest");
        Assert.Equal("first", (await reader.NextAsync())?.Data);
    }

    [Fact]
    public async Task Thousands_of_publishes_racing_a_resume_produce_no_gap_and_no_duplicate()
    {
        await using var hub = await Start();
        const string topic = "https://example.com/race";
        var before = await Publish(hub, topic, 50, "before");
        const int racing = 3000;

        // Publish from 4 concurrent publishers while subscribers resume from the middle, repeatedly.
        using var stop = new CancellationTokenSource();
        var published = 0;
        var publishers = Enumerable.Range(0, 4).Select(p => Task.Run(async () =>
        {
            for (var i = 0; i < racing / 4; i++)
            {
                await hub.Hub.PublishAsync(new Update { Topics = [topic], Data = $"race{p}-{i}" });
                Interlocked.Increment(ref published);
            }
        })).ToArray();

        var readers = new List<(SseReader Reader, Task<List<string>> Ids)>();
        for (var r = 0; r < 5; r++)
        {
            await TestHub.Eventually(() => Volatile.Read(ref published) >= r * racing / 6, "publishes to progress");
            var reader = await hub.SubscribeAsync("topic=" + Uri.EscapeDataString(topic), lastEventId: before[25]);
            readers.Add((reader, Task.Run(async () =>
            {
                var ids = new List<string>();
                while (ids.Count < 24 + racing)
                {
                    var item = await reader.NextAsync(30_000);
                    ids.Add(item!.Value.EventId!);
                }

                return ids;
            })));
        }

        await Task.WhenAll(publishers).WaitAsync(TimeSpan.FromSeconds(60));
        await using var full = await hub.SubscribeAsync("topic=" + Uri.EscapeDataString(topic) + "&lastEventID=earliest");
        var expected = new List<string>();
        while (expected.Count < 50 + racing)
        {
            expected.Add((await full.NextAsync(30_000))!.Value.EventId!);
        }

        foreach (var (reader, idsTask) in readers)
        {
            var ids = await idsTask.WaitAsync(TimeSpan.FromSeconds(60));
            Assert.Equal(expected.Skip(26), ids);
            await reader.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_long_replay_with_a_small_queue_and_live_traffic_is_not_cut()
    {
        // The replay keeps the 64-frame queue full (the client reads slower than the hub copies); the live updates
        // held meanwhile (fewer than 64, so the hold itself is not cut) must then wait for room, not overflow it.
        await using var hub = await Start(true, ("Herald:SubscriberQueueCapacity", "64"));
        const string topic = "https://example.com/long";
        var payload = new string('r', 16 * 1024);
        var ids = new List<string>();
        for (var i = 0; i < 300; i++)
        {
            ids.Add(await hub.Hub.PublishAsync(new Update { Topics = [topic], Data = payload }));
        }

        await using var reader = await hub.SubscribeAsync("topic=" + Uri.EscapeDataString(topic) + "&lastEventID=earliest");
        var live = Task.Run(async () =>
        {
            var liveIds = new List<string>();
            for (var i = 0; i < 40; i++)
            {
                liveIds.Add(await hub.Hub.PublishAsync(new Update { Topics = [topic], Data = "live" + i }));
            }

            return liveIds;
        });

        var received = new List<string>();
        while (received.Count < 340)
        {
            var item = await reader.NextAsync(30_000);
            Assert.NotNull(item);
            received.Add(item.Value.EventId!);
        }

        Assert.Equal([.. ids, .. await live.WaitAsync(TimeSpan.FromSeconds(30))], received);
    }

    [Fact]
    public async Task Every_acked_update_survives_a_kill_9_and_arrives_exactly_once_in_order_after_restart()
    {
        var dataDir = Path.Combine(Path.GetTempPath(), "herald-tests", Guid.NewGuid().ToString("N"));
        const string topic = "https://example.com/durable";
        var acked = new List<string>();
        string lastSeen;
        await using (var first = await HubProcess.StartAsync(dataDir, "--anonymous"))
        {
            using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
            using var stream = await client.GetAsync(first.HubUrl + "?topic=" + Uri.EscapeDataString(topic), HttpCompletionOption.ResponseHeadersRead);
            await using var reader = await SseReader.OpenAsync(stream);
            for (var i = 0; i < 200; i++)
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, first.HubUrl)
                {
                    Content = new FormUrlEncodedContent([new("topic", topic), new("data", "d" + i)]),
                };
                request.Headers.Authorization = new("Bearer", TestHub.PublisherToken());
                using var response = await client.SendAsync(request);
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                acked.Add(await response.Content.ReadAsStringAsync());
            }

            // The subscriber saw some of them; the hub dies right after the last ack.
            lastSeen = (await reader.NextAsync())!.Value.EventId!;
            for (var i = 1; i < 20; i++)
            {
                lastSeen = (await reader.NextAsync())!.Value.EventId!;
            }

            await first.KillAsync();
        }

        Assert.Equal(acked[19], lastSeen);
        await using var second = await HubProcess.StartAsync(dataDir, "--anonymous");
        using var resumeClient = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        using var resumeRequest = new HttpRequestMessage(HttpMethod.Get, second.HubUrl + "?topic=" + Uri.EscapeDataString(topic));
        resumeRequest.Headers.Add("Last-Event-ID", lastSeen);
        using var resumed = await resumeClient.SendAsync(resumeRequest, HttpCompletionOption.ResponseHeadersRead);
        await using var resumeReader = await SseReader.OpenAsync(resumed);
        var replayed = new List<string>();
        for (var i = 20; i < 200; i++)
        {
            replayed.Add((await resumeReader.NextAsync())!.Value.EventId!);
        }

        Assert.Equal(acked.Skip(20), replayed);

        // Ids stay unique and ordered across the restart: a new publish follows, with a new id.
        using var post = new HttpRequestMessage(HttpMethod.Post, second.HubUrl) { Content = new FormUrlEncodedContent([new("topic", topic), new("data", "after")]) };
        post.Headers.Authorization = new("Bearer", TestHub.PublisherToken());
        using var afterResponse = await resumeClient.SendAsync(post);
        Assert.Equal(HttpStatusCode.OK, afterResponse.StatusCode);
        var afterId = await afterResponse.Content.ReadAsStringAsync();
        var next = await resumeReader.NextAsync();
        Assert.Equal("after", next?.Data);
        Assert.DoesNotContain(afterId, acked);
    }

    [Fact]
    public async Task A_failing_disk_makes_publish_answer_503_and_loses_nothing_already_acked()
    {
        await using var hub = await Start();
        var store = Assert.IsType<Herald.Storage.Sqlite.SqliteUpdateStore>(hub.Hub.Store);
        var acked = await hub.PublishAsync("https://example.com/disk", "before");

        store.ExecuteOnWriterForTesting("PRAGMA query_only=1");
        using var refused = await hub.PostAsync([new("topic", "https://example.com/disk"), new("data", "while failing")]);
        var reason = await refused.Content.ReadAsStringAsync();
        store.ExecuteOnWriterForTesting("PRAGMA query_only=0");
        var after = await hub.PublishAsync("https://example.com/disk", "after");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.StartsWith("history store unavailable", reason, StringComparison.Ordinal);
        await using var reader = await hub.SubscribeAsync("topic=https://example.com/disk&lastEventID=earliest");
        Assert.Equal(acked, (await reader.NextAsync())?.EventId);
        Assert.Equal(after, (await reader.NextAsync())?.EventId);
    }

    [Fact]
    public async Task A_corrupt_data_file_is_a_one_line_startup_error_naming_the_file()
    {
        var dataDir = Path.Combine(Path.GetTempPath(), "herald-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dataDir);
        var file = Path.Combine(dataDir, "herald.db");
        await File.WriteAllBytesAsync(file, Encoding.ASCII.GetBytes(new string('x', 8192)));

        var (exitCode, stderr) = await HubProcess.FailToStartAsync(dataDir);

        Assert.NotEqual(0, exitCode);
        var line = Assert.Single(stderr.Trim().Split('\n'));
        Assert.Contains(file, line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unwritable_data_directory_is_a_one_line_startup_error()
    {
        var parent = Path.Combine(Path.GetTempPath(), "herald-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(parent);
        var blocker = Path.Combine(parent, "not-a-dir");
        await File.WriteAllTextAsync(blocker, "a file where the data directory should be");

        var (exitCode, stderr) = await HubProcess.FailToStartAsync(Path.Combine(blocker, "data"));

        Assert.NotEqual(0, exitCode);
        Assert.Single(stderr.Trim().Split('\n'));
        Assert.Contains("not-a-dir", stderr, StringComparison.Ordinal);
    }
}
