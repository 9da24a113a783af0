using System.Net;
using System.Net.Sockets;
using Herald.Tests.Infrastructure;

namespace Herald.Tests.Diagnostics;

/// <summary>
/// <c>herald serve</c>'s <c>/metrics</c> (OpenTelemetry's Prometheus exporter), scraped from a real hub process: the
/// subscriptions it counts are the ones connected on each path, the publishes the ones answered, by outcome.
/// </summary>
public sealed class MetricsExportTests
{
    private const string Topic = "https://example.com/metrics/books";

    private static string DataDir() => Path.Combine(Path.GetTempPath(), "herald-tests", Guid.NewGuid().ToString("N"));

    [Fact]
    public async Task Metrics_count_the_subscribers_on_each_path_and_the_publishes_by_outcome()
    {
        await using var hub = await HubProcess.StartAsync(DataDir());
        var streams = new List<(HttpClient Client, SseReader Stream)>();
        try
        {
            // Kestrel's path: a subscription that is not the first request of its connection is Kestrel's.
            for (var i = 0; i < 3; i++)
            {
                var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 1 }) { Timeout = Timeout.InfiniteTimeSpan };
                using (var first = await client.GetAsync(hub.BaseUrl + "/").WaitAsync(TimeSpan.FromSeconds(30)))
                {
                    await first.Content.ReadAsStringAsync();
                    Assert.Equal(HttpStatusCode.OK, first.StatusCode);
                }

                streams.Add((client, await SubscribeAsync(client, hub.HubUrl)));
            }

            // Herald's own socket path: a subscription that opens its connection.
            for (var i = 0; i < 2; i++)
            {
                var client = new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
                streams.Add((client, await SubscribeAsync(client, hub.HubUrl)));
            }

            using var scraper = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
            var metrics = await ScrapeUntilAsync(scraper, hub.BaseUrl, m =>
                m.Sum("herald_subscriptions_active", ("herald_subscription_server", "kestrel")) == 3
                && m.Sum("herald_subscriptions_active", ("herald_subscription_server", "direct")) == 2);
            Assert.Equal(5, metrics.Sum("herald_subscriptions_active"));
            Assert.Equal(3, metrics.Sum("herald_subscriptions_opened_total", ("herald_subscription_server", "kestrel")));
            Assert.Equal(2, metrics.Sum("herald_subscriptions_opened_total", ("herald_subscription_server", "direct")));

            // 4 stored; refused: 2 × 400 (no topic), 1 × 403 (not granted), 1 × 401 (bad token).
            using var publisher = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
            for (var i = 0; i < 4; i++)
            {
                Assert.Equal(HttpStatusCode.OK, await PublishAsync(publisher, hub.HubUrl, [new("topic", Topic), new("data", $"book {i}")], TestHub.PublisherToken()));
            }

            Assert.Equal(HttpStatusCode.BadRequest, await PublishAsync(publisher, hub.HubUrl, [new("data", "no topic")], TestHub.PublisherToken()));
            Assert.Equal(HttpStatusCode.BadRequest, await PublishAsync(publisher, hub.HubUrl, [new("data", "still none")], TestHub.PublisherToken()));
            Assert.Equal(HttpStatusCode.Forbidden, await PublishAsync(publisher, hub.HubUrl, [new("topic", Topic), new("data", "x")], TestHub.PublisherToken("https://example.com/other")));
            Assert.Equal(HttpStatusCode.Unauthorized, await PublishAsync(publisher, hub.HubUrl, [new("topic", Topic), new("data", "x")], "not-a-token"));

            foreach (var (_, stream) in streams)
            {
                for (var i = 0; i < 4; i++)
                {
                    Assert.Equal($"book {i}", (await stream.NextAsync())!.Value.Data);
                }
            }

            metrics = await ScrapeUntilAsync(scraper, hub.BaseUrl, m =>
                m.Sum("herald_updates_published_total") == 8 && m.Sum("herald_deliveries_total") == 20
                && m.Sum("herald_dispatch_lag_seconds_count") == 4 && m.Sum("herald_updates_dispatched_total") == 4);
            Assert.Equal(4, metrics.Sum("herald_updates_published_total", ("herald_publish_outcome", "stored")));
            Assert.Equal(4, metrics.Sum("herald_updates_published_total", ("herald_publish_outcome", "refused")));
            Assert.Equal(2, metrics.Sum("herald_updates_published_total", ("herald_publish_outcome", "refused"), ("http_response_status_code", "400")));
            Assert.Equal(1, metrics.Sum("herald_updates_published_total", ("herald_publish_outcome", "refused"), ("http_response_status_code", "403")));
            Assert.Equal(1, metrics.Sum("herald_updates_published_total", ("herald_publish_outcome", "refused"), ("http_response_status_code", "401")));
            Assert.Equal(0, metrics.Sum("herald_updates_published_total", ("herald_publish_outcome", "store_unavailable")));
            Assert.Equal(8, metrics.Sum("herald_publish_duration_seconds_count"));
            Assert.Equal(4, metrics.Sum("herald_store_append_duration_seconds_count"));
            Assert.Equal(4, metrics.Sum("herald_dispatch_lag_seconds_count"));
            Assert.Equal(4, metrics.Sum("herald_updates_dispatched_total"));

            // One subscriber of each path leaves: counted closed as a client that left.
            await streams[0].Stream.DisposeAsync();
            streams[0].Client.Dispose();
            await streams[4].Stream.DisposeAsync();
            streams[4].Client.Dispose();
            streams.RemoveAt(4);
            streams.RemoveAt(0);
            metrics = await ScrapeUntilAsync(scraper, hub.BaseUrl, m => m.Sum("herald_subscriptions_active") == 3);
            Assert.Equal(2, metrics.Sum("herald_subscriptions_active", ("herald_subscription_server", "kestrel")));
            Assert.Equal(1, metrics.Sum("herald_subscriptions_active", ("herald_subscription_server", "direct")));
            Assert.Equal(1, metrics.Sum("herald_subscriptions_closed_total", ("herald_subscription_server", "kestrel"), ("herald_close_reason", "client_left")));
            Assert.Equal(1, metrics.Sum("herald_subscriptions_closed_total", ("herald_subscription_server", "direct"), ("herald_close_reason", "client_left")));
        }
        finally
        {
            foreach (var (client, stream) in streams)
            {
                await stream.DisposeAsync();
                client.Dispose();
            }
        }
    }

    [Fact]
    public async Task No_metrics_turns_the_endpoint_off()
    {
        await using var hub = await HubProcess.StartAsync(DataDir(), "--no-metrics");
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        using var response = await client.GetAsync(hub.BaseUrl + "/metrics");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.DoesNotContain(hub.Output, line => line.Contains("metrics", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Metrics_port_serves_metrics_there_and_not_on_the_hub_port()
    {
        var port = FreePort();
        await using var hub = await HubProcess.StartAsync(DataDir(), "--metrics-port", port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.DoesNotContain($":{port}", hub.BaseUrl, StringComparison.Ordinal);
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };

        var metrics = await ScrapeUntilAsync(client, $"http://127.0.0.1:{port}", m => m.Has("herald_subscriptions_active"));
        Assert.Equal(0, metrics.Sum("herald_subscriptions_active"));
        using var onHubPort = await client.GetAsync(hub.BaseUrl + "/metrics");
        Assert.Equal(HttpStatusCode.NotFound, onHubPort.StatusCode);

        // The metrics port serves nothing else: no publish endpoint, no pages.
        using var publish = await client.PostAsync($"http://127.0.0.1:{port}/.well-known/mercure", new FormUrlEncodedContent([new("topic", "t"), new("data", "d")]));
        Assert.Equal(HttpStatusCode.NotFound, publish.StatusCode);
        using var front = await client.GetAsync($"http://127.0.0.1:{port}/");
        Assert.Equal(HttpStatusCode.NotFound, front.StatusCode);
        Assert.Contains(hub.Output, line => line.Contains($"metrics (Prometheus) at http://127.0.0.1:{port}/metrics", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_metrics_port_that_is_not_a_port_is_refused_in_one_line()
    {
        var (exitCode, stderr) = await HubProcess.FailToStartAsync(DataDir(), "--metrics-port", "http");
        Assert.Equal(2, exitCode);
        Assert.Equal("herald: --metrics-port 'http' is not a port; use 1-65535", stderr.Trim());
    }

    private static async Task<SseReader> SubscribeAsync(HttpClient client, string hubUrl)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, hubUrl + "?topic=" + Uri.EscapeDataString(Topic));
        request.Headers.Authorization = new("Bearer", TestHub.SubscriberToken());
        var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await SseReader.OpenAsync(response);
    }

    private static async Task<HttpStatusCode> PublishAsync(HttpClient client, string hubUrl, KeyValuePair<string, string>[] form, string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, hubUrl) { Content = new FormUrlEncodedContent(form) };
        request.Headers.Authorization = new("Bearer", token);
        using var response = await client.SendAsync(request).WaitAsync(TimeSpan.FromSeconds(30));
        return response.StatusCode;
    }

    /// <summary>
    /// Scrapes until <paramref name="done"/> holds: the exporter caches a scrape briefly, and a count moves a moment
    /// after the client saw its answer. Fails with the last text after 30 s.
    /// </summary>
    private static async Task<MetricsText> ScrapeUntilAsync(HttpClient client, string baseUrl, Func<MetricsText, bool> done)
    {
        var deadline = Environment.TickCount64 + 30_000;
        var text = string.Empty;
        while (Environment.TickCount64 < deadline)
        {
            using (var response = await client.GetAsync(baseUrl + "/metrics").WaitAsync(TimeSpan.FromSeconds(30)))
            {
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                text = await response.Content.ReadAsStringAsync();
            }

            var metrics = MetricsText.Parse(text);
            if (done(metrics))
            {
                return metrics;
            }

            await Task.Delay(100);
        }

        Assert.Fail("the metrics never showed what was expected; last scrape:\n" + text);
        return null!;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
