using System.Net;
using Herald.Tests.Infrastructure;

namespace Herald.Tests.Hardening;

/// <summary>
/// <c>herald serve</c> as a newcomer runs it (no <c>--data-dir</c>, no key) keeps what it acknowledged: through a
/// SIGKILL, and through a SIGTERM that arrives while publishes are being acknowledged.
/// </summary>
public sealed class ServeDurabilityTests
{
    private const string Topic = "https://example.com/durable";

    [Fact]
    public async Task A_default_serve_killed_with_sigkill_replays_what_it_acknowledged_after_a_restart()
    {
        var workingDirectory = NewDirectory();
        string token, first, second;
        IReadOnlyList<string> startup;
        await using (var hub = await HubProcess.StartWithDefaultsAsync(workingDirectory))
        {
            token = await StartupTokenAsync(hub);
            using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
            first = await PublishAsync(client, hub, token, "one");
            second = await PublishAsync(client, hub, token, "two");
            startup = hub.Output;
            await hub.KillAsync();
        }

        await using var again = await HubProcess.StartWithDefaultsAsync(workingDirectory);
        using var subscriber = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };

        await using (var everything = await SubscribeAsync(subscriber, again, token, "&lastEventID=earliest"))
        {
            var one = await everything.NextAsync(30_000);
            var two = await everything.NextAsync(30_000);
            Assert.Equal((first, "one"), (one?.EventId, one?.Data));
            Assert.Equal((second, "two"), (two?.EventId, two?.Data));
        }

        await using (var resumed = await SubscribeAsync(subscriber, again, token, string.Empty, lastEventId: first))
        {
            var next = await resumed.NextAsync(30_000);
            Assert.Equal((second, "two"), (next?.EventId, next?.Data));
            Assert.Equal(first, resumed.Response.Headers.GetValues("Last-Event-ID").Single());
        }

        // The startup lines say where history lives (the same directory as the generated key).
        var database = Path.Combine(workingDirectory, "herald-data", "herald.db");
        Assert.Contains("herald: history: SQLite in " + database, startup);
        Assert.True(File.Exists(Path.Combine(workingDirectory, "herald-data", "jwt.key")));
    }

    [Fact]
    public async Task A_sigterm_while_publishes_are_being_acknowledged_loses_none_of_the_acknowledged_ones()
    {
        var workingDirectory = NewDirectory();
        List<string>[] acked = [[], [], [], []];
        string token;
        await using (var hub = await HubProcess.StartWithDefaultsAsync(workingDirectory))
        {
            token = await StartupTokenAsync(hub);
            using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };

            // Each loop publishes until the hub stops answering: they are all mid-flight when the signal goes.
            var loops = acked.Select((ids, n) => Task.Run(() => PublishUntilRefusedAsync(client, hub, token, n, ids))).ToArray();
            await TestHub.Eventually(() => Count(acked) >= 200 || loops.Any(loop => loop.IsCompleted), "200 acknowledged publishes", 120_000);
            Assert.DoesNotContain(loops, loop => loop.IsCompleted);

            await hub.TerminateAsync();
            await Task.WhenAll(loops).WaitAsync(TimeSpan.FromSeconds(90));

            Assert.Equal(0, hub.ExitCode);
        }

        await using var again = await HubProcess.StartWithDefaultsAsync(workingDirectory);
        using var subscriber = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        await using var replay = await SubscribeAsync(subscriber, again, token, "&lastEventID=earliest");
        var missing = acked.SelectMany(ids => ids).ToHashSet();
        var replayed = new List<string>();
        while (missing.Count > 0)
        {
            var item = await replay.NextAsync(30_000);
            Assert.True(item is not null, $"history ended with {missing.Count} acknowledged updates missing");
            replayed.Add(item.Value.EventId!);
            missing.Remove(item.Value.EventId!);
        }

        // And in the order each publisher was answered.
        foreach (var ids in acked)
        {
            Assert.Equal(ids, replayed.Where(ids.Contains));
        }
    }

    /// <summary>Publishes one update after another; returns how the first one not acknowledged ended (a status, or 0 for no answer).</summary>
    private static async Task<HttpStatusCode> PublishUntilRefusedAsync(HttpClient client, HubProcess hub, string token, int publisher, List<string> acked)
    {
        for (var i = 0; ; i++)
        {
            try
            {
                using var request = PublishRequest(hub, token, $"{publisher}-{i}");
                using var response = await client.SendAsync(request);
                if (response.StatusCode != HttpStatusCode.OK)
                {
                    return response.StatusCode;
                }

                var id = await response.Content.ReadAsStringAsync();
                lock (acked)
                {
                    acked.Add(id);
                }
            }
            catch (Exception e) when (e is HttpRequestException or IOException or TaskCanceledException)
            {
                return 0;
            }
        }
    }

    private static int Count(List<string>[] acked) => acked.Sum(ids =>
    {
        lock (ids)
        {
            return ids.Count;
        }
    });

    private static string NewDirectory()
    {
        var directory = Path.Combine(Path.GetTempPath(), "herald-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        return directory;
    }

    /// <summary>The publish-and-subscribe token <c>herald serve</c> writes to a file when it runs on its generated key.</summary>
    private static async Task<string> StartupTokenAsync(HubProcess hub) => (await hub.StartupTokenAsync()).Token;

    private static HttpRequestMessage PublishRequest(HubProcess hub, string token, string data)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, hub.HubUrl) { Content = new FormUrlEncodedContent([new("topic", Topic), new("data", data)]) };
        request.Headers.Authorization = new("Bearer", token);
        return request;
    }

    private static async Task<string> PublishAsync(HttpClient client, HubProcess hub, string token, string data)
    {
        using var request = PublishRequest(hub, token, data);
        using var response = await client.SendAsync(request).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadAsStringAsync();
    }

    private static async Task<SseReader> SubscribeAsync(HttpClient client, HubProcess hub, string token, string query, string? lastEventId = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, hub.HubUrl + "?topic=" + Uri.EscapeDataString(Topic) + query);
        request.Headers.Authorization = new("Bearer", token);
        if (lastEventId is not null)
        {
            request.Headers.Add("Last-Event-ID", lastEventId);
        }

        var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await SseReader.OpenAsync(response);
    }
}
