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

        await FillAndOverflowAsync(hub, limit, limit + 20);
        await ServesAgainAsync(hub);
    }

    [Fact]
    public async Task A_configured_limit_above_what_the_file_limit_allows_is_lowered_and_a_flood_does_not_kill_the_hub()
    {
        // Obeyed, 100,000 let connections take every descriptor: accepting failed with EMFILE (and spun a core
        // before it paused), and the process aborted once anything else needed a file.
        await using var hub = await LowFileLimitHub.StartAsync(FileLimit, new Dictionary<string, string> { ["Herald__MaxConnections"] = "100000" });
        var limit = await StatedLimitAsync(hub);
        Assert.InRange(limit, 1, FileLimit - 1);
        Assert.Contains("Herald:MaxConnections is 100000, more than the open-file limit leaves room for", hub.Output, StringComparison.Ordinal);

        // As many connections as the process has descriptors, and then some.
        await FillAndOverflowAsync(hub, limit, FileLimit + 20);
        Assert.DoesNotContain("TooManyOpenSockets", hub.Output, StringComparison.Ordinal);
        await ServesAgainAsync(hub);
    }

    /// <summary>
    /// Opens <paramref name="total"/> connections one after another, each sending a subscription, so which ones are
    /// over the limit is certain: the first <paramref name="limit"/> are served (and kept open), every one after them
    /// gets a whole 503 with Retry-After and its one-line reason, then the close.
    /// </summary>
    private static async Task FillAndOverflowAsync(LowFileLimitHub hub, int limit, int total)
    {
        var open = new List<TcpClient>();
        try
        {
            for (var i = 0; i < total; i++)
            {
                var client = await RawHttp.ConnectAsync(hub.BaseUrl);
                var response = await RawHttp.SendAsync(client, Encoding.ASCII.GetBytes(Subscription(hub)));
                if (i < limit)
                {
                    Assert.True(response.Status == 200, $"connection {i} of at most {limit}: {response.Head}");
                    open.Add(client);
                    continue;
                }

                using (client)
                {
                    Assert.True(response.Status == 503, $"connection {i}, over the limit of {limit}: {response.Head}");
                    Assert.True(int.TryParse(response.Header("Retry-After"), out var seconds) && seconds > 0, response.Head);
                    Assert.Equal("close", response.Header("Connection"));
                    var body = response.Rest + await RawHttp.ReadToEndAsync(client.GetStream());
                    Assert.Equal("too many connections to the hub, retry later\n", body);
                    Assert.Equal(body.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), response.Header("Content-Length"));
                }
            }

            Assert.False(hub.Process.HasExited, "the hub died: " + hub.Output);
        }
        finally
        {
            foreach (var client in open)
            {
                client.Dispose();
            }
        }
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
            HttpResponseMessage response;
            try
            {
                response = await client.SendAsync(
                    new HttpRequestMessage(HttpMethod.Get, hub.HubUrl + "?topic=" + Uri.EscapeDataString(Topic)),
                    HttpCompletionOption.ResponseHeadersRead);
            }
            catch (HttpRequestException e)
            {
                await hub.Process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(5)).ContinueWith(_ => { });
                Assert.Fail($"subscribing failed ({e.Message}); the hub {(hub.Process.HasExited ? $"exited with {hub.Process.ExitCode}" : "runs")}: {hub.Output}");
                throw;
            }

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
