using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using Herald.Mercure;
using Herald.Tests.Cluster;
using Herald.Tests.Diagnostics;
using Herald.Tests.Infrastructure;
using Herald.Tests.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Herald.Tests.Mercure;

/// <summary>
/// A graceful shutdown closes the streams spread over a drain window, each after a <c>retry:</c> hint that sends its
/// client back once the drain is over; meanwhile subscriptions are refused with 503 and <c>Retry-After</c>, and
/// publishing goes on. Nothing here is timed: the streams must end, with their hint, within a generous deadline.
/// </summary>
public sealed partial class ShutdownDrainTests
{
    private const int Streams = 30;
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Stopping_the_host_sends_every_stream_a_retry_hint_then_ends_them_all()
    {
        await using var hub = await TestHub.StartAsync(Settings());
        var streams = Enumerable.Range(0, Streams).Select(_ => ReadToEndAsync(hub)).ToList();
        await TestHub.Eventually(() => hub.Hub.SubscriberCount == Streams, "every subscriber registered");

        var stopping = hub.App.StopAsync();
        var texts = await Task.WhenAll(streams).WaitAsync(Deadline);
        await stopping.WaitAsync(Deadline);

        var hints = texts.Select(text => Assert.Single(RetryLine().Matches(text))).Select(m => long.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)).ToList();

        // The rest of a drain that lasts at most 2 s, a second for the server to stop listening, and a share of the
        // 3 s spread: no client is sent back while the hub still drains.
        Assert.All(hints, ms => Assert.InRange(ms, 1_000, 6_000));
        Assert.True(hints.Distinct().Count() > 1, "the hints should differ");
    }

    [Fact]
    public async Task During_the_drain_a_subscription_gets_503_with_retry_after_and_publishing_goes_on()
    {
        await using var hub = await TestHub.StartAsync(Settings());
        await hub.Hub.DrainAsync(CancellationToken.None).WaitAsync(Deadline);

        using var response = await hub.Client.GetAsync(hub.HubUrl + "?topic=t").WaitAsync(Deadline);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        var retryAfter = Assert.Single(response.Headers.GetValues("Retry-After"));
        Assert.InRange(int.Parse(retryAfter, System.Globalization.CultureInfo.InvariantCulture), 1, 6);
        Assert.Equal("the hub is shutting down: retry later", (await response.Content.ReadAsStringAsync()).Trim());

        // Acknowledged means stored: the clients resume it from history wherever they reconnect.
        var id = await hub.PublishAsync("t", "during the drain");
        Assert.Contains(await hub.Hub.Store.ReadAllAsync(), stored => stored.Id == id);
    }

    [Fact]
    public async Task A_zero_drain_closes_every_stream_at_once_as_before()
    {
        var settings = Settings();
        settings["Herald:ShutdownDrain"] = "00:00:00";
        await using var hub = await TestHub.StartAsync(settings);
        var streams = Enumerable.Range(0, Streams).Select(_ => ReadToEndAsync(hub)).ToList();
        await TestHub.Eventually(() => hub.Hub.SubscriberCount == Streams, "every subscriber registered");

        await hub.Hub.DrainAsync(CancellationToken.None).WaitAsync(Deadline);
        var texts = await Task.WhenAll(streams).WaitAsync(Deadline);

        Assert.All(texts, text => Assert.Empty(RetryLine().Matches(text)));
    }

    [Fact]
    public async Task A_drain_logs_one_line_with_how_many_streams_over_what_window()
    {
        var log = new LogCapture();
        var settings = Settings();
        settings["Herald:DataDir"] = string.Empty;
        await using var node = await ClusterNode.StartAsync(settings, services => services.AddSingleton<ILoggerProvider>(log));
        var hub = node.App.Services.GetRequiredService<MercureHub>();
        var streams = new List<HttpResponseMessage>();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                var response = await node.Client.GetAsync(node.HubUrl + "?topic=t", HttpCompletionOption.ResponseHeadersRead).WaitAsync(Deadline);
                streams.Add(response);
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            }

            await TestHub.Eventually(() => hub.SubscriberCount == 3, "every subscriber registered");
            await hub.DrainAsync(CancellationToken.None).WaitAsync(Deadline);
        }
        finally
        {
            streams.ForEach(s => s.Dispose());
        }

        var line = Assert.Single(log.WithId(612));
        Assert.Equal(LogLevel.Information, line.Level);
        Assert.Equal(3, line.Properties["Count"]);
        Assert.Equal(TimeSpan.FromSeconds(2), line.Properties["Window"]);
    }

    private static Dictionary<string, string?> Settings() => new()
    {
        ["Herald:Anonymous"] = "true",
        ["Herald:ShutdownDrain"] = "00:00:02",
        ["Herald:ShutdownReconnectSpread"] = "00:00:03",
    };

    /// <summary>Opens a stream and returns everything it carried once the server ends it.</summary>
    private static async Task<string> ReadToEndAsync(TestHub hub)
    {
        using var response = await hub.Client.GetAsync(hub.HubUrl + "?topic=t", HttpCompletionOption.ResponseHeadersRead).WaitAsync(Deadline);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await using var body = await response.Content.ReadAsStreamAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var text = new StringBuilder();
        var buffer = new byte[4096];
        try
        {
            int n;
            while ((n = await body.ReadAsync(buffer, timeout.Token)) > 0)
            {
                text.Append(Encoding.UTF8.GetString(buffer, 0, n));
            }
        }
        catch (Exception e) when (e is IOException or HttpRequestException)
        {
            // The connection closed rather than the response ending: the stream is over all the same.
        }

        return text.ToString();
    }

    [GeneratedRegex(@"^retry: (\d+)$", RegexOptions.Multiline)]
    private static partial Regex RetryLine();
}
