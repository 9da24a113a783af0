using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using Herald.Tests.Infrastructure;

namespace Herald.Tests.Hardening;

/// <summary>
/// A real <c>herald serve</c> under <c>ulimit -n 400</c> (an idle hub already holds about 225 descriptors: the runtime
/// keeps its assemblies open). Past the open-file limit its accept loop used to spin at a whole core and the process
/// then aborted; now it keeps a connection limit under the file limit, answers the excess 503 with Retry-After, and
/// pauses accepting when it is out of descriptors anyway.
/// </summary>
public sealed partial class ConnectionLimitTests
{
    private const int FileLimit = 400;
    private const string Topic = "https://example.com/limit";

    [Fact]
    public async Task Connections_over_the_limit_get_503_with_Retry_After_and_the_hub_serves_again_once_they_close()
    {
        await using var hub = await LowFileLimitHub.StartAsync(FileLimit);
        var limit = await StatedLimitAsync(hub);
        Assert.InRange(limit, 1, FileLimit - 1);

        var open = new List<TcpClient>();
        var refused = new List<RawResponse>();
        try
        {
            // One after another, so which ones are over the limit is certain: the first `limit` are subscriptions,
            // every one after them is refused.
            for (var i = 0; i < limit + 20; i++)
            {
                var client = await RawHttp.ConnectAsync(hub.BaseUrl);
                var response = await RawHttp.SendAsync(client, Encoding.ASCII.GetBytes(Subscription(hub)));
                if (i < limit)
                {
                    Assert.True(response.Status == 200, $"connection {i} of at most {limit}: {response.Head}");
                    open.Add(client);
                }
                else
                {
                    refused.Add(response);
                    client.Dispose();
                }
            }

            Assert.All(refused, response =>
            {
                Assert.Equal(503, response.Status);
                Assert.True(int.TryParse(response.Header("Retry-After"), out var seconds) && seconds > 0, response.Head);
                Assert.Equal("close", response.Header("Connection"));
            });
        }
        finally
        {
            foreach (var client in open)
            {
                client.Dispose();
            }
        }

        await ServesAgainAsync(hub);
    }

    [Fact]
    public async Task Out_of_descriptors_the_hub_pauses_accepting_without_spinning_and_serves_again_once_connections_close()
    {
        // A limit above the file limit, as an operator could set: accepting then runs into EMFILE.
        await using var hub = await LowFileLimitHub.StartAsync(FileLimit, new Dictionary<string, string> { ["Herald__MaxConnections"] = "100000" });
        var clients = new List<TcpClient>();
        try
        {
            // More than the process has descriptors for; the kernel's backlog holds what the hub cannot accept.
            for (var i = 0; i < FileLimit; i++)
            {
                var client = await RawHttp.ConnectAsync(hub.BaseUrl);
                await client.GetStream().WriteAsync(Encoding.ASCII.GetBytes(Subscription(hub)));
                clients.Add(client);
            }

            await TestHub.Eventually(() => hub.Output.Contains("TooManyOpenSockets", StringComparison.Ordinal), "the hub to run out of descriptors", 60_000);

            // Out of descriptors with clients still waiting: an accept loop that retried at once used a whole core here.
            // A measurement window, not a synchronisation: a hub that pauses uses next to nothing in it.
            var cpuBefore = hub.CpuTime;
            await Task.Delay(TimeSpan.FromSeconds(5));
            var cpu = hub.CpuTime - cpuBefore;
            Assert.True(cpu < TimeSpan.FromSeconds(2.5), $"the hub used {cpu.TotalSeconds:F1} s of CPU in 5 s while out of descriptors");
            Assert.False(hub.Process.HasExited, "the hub died: " + hub.Output);
        }
        finally
        {
            foreach (var client in clients)
            {
                client.Dispose();
            }
        }

        await ServesAgainAsync(hub);
    }

    private static string Subscription(LowFileLimitHub hub)
        => $"GET /.well-known/mercure?topic={Uri.EscapeDataString(Topic)} HTTP/1.1\r\nHost: {new Uri(hub.BaseUrl).Authority}\r\n\r\n";

    /// <summary>The limit the hub states when it starts listening.</summary>
    private static async Task<int> StatedLimitAsync(LowFileLimitHub hub)
    {
        var stated = 0;
        await TestHub.Eventually(
            () => LimitPattern().Match(hub.Output) is { Success: true } m && int.TryParse(m.Groups[1].Value, out stated),
            "the hub to state its connection limit",
            30_000);
        return stated;
    }

    /// <summary>Once the connections are gone, a subscriber is served again and gets what is published.</summary>
    private static async Task ServesAgainAsync(LowFileLimitHub hub)
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        SseReader? reader = null;
        var deadline = Environment.TickCount64 + 60_000;
        while (reader is null)
        {
            Assert.False(hub.Process.HasExited, "the hub died: " + hub.Output);
            var response = await client.SendAsync(
                new HttpRequestMessage(HttpMethod.Get, hub.HubUrl + "?topic=" + Uri.EscapeDataString(Topic)),
                HttpCompletionOption.ResponseHeadersRead);
            if (response.IsSuccessStatusCode)
            {
                reader = await SseReader.OpenAsync(response);
                break;
            }

            // Still at the limit while the hub sees the old connections close.
            Assert.Equal(System.Net.HttpStatusCode.ServiceUnavailable, response.StatusCode);
            response.Dispose();
            Assert.True(Environment.TickCount64 < deadline, "the hub never served a subscriber again");
            await Task.Delay(100);
        }

        await using (reader)
        {
            using var publish = new HttpRequestMessage(HttpMethod.Post, hub.HubUrl)
            {
                Content = new FormUrlEncodedContent([new("topic", Topic), new("data", "still here")]),
            };
            publish.Headers.Authorization = new AuthenticationHeaderValue("Bearer", TestHub.PublisherToken());
            using var published = await client.SendAsync(publish);
            Assert.True(published.IsSuccessStatusCode, $"publish: {(int)published.StatusCode}");
            Assert.Equal("still here", (await reader.NextAsync())?.Data);
        }

        Assert.False(hub.Process.HasExited, "the hub died: " + hub.Output);
    }

    [GeneratedRegex(@"at most (\d+) connections at once")]
    private static partial Regex LimitPattern();
}
