using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Herald.Security;
using Herald.Tests.Hardening;
using Herald.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Herald.Tests.Diagnostics;

/// <summary>
/// What an app embedding the hub sees of its instruments with nothing but <c>System.Diagnostics.Metrics</c> (the
/// library takes no OpenTelemetry dependency): a <see cref="MeterListener"/> on the <c>Herald</c> meter of the app's
/// own <see cref="IMeterFactory"/>, so other hubs of the test run are not counted.
/// </summary>
public sealed class MetricsListenerTests
{
    private const string Topic = "https://example.com/listener/books";

    [Fact]
    public async Task An_embedding_app_sees_subscriptions_publishes_and_deliveries()
    {
        await using var hub = await KestrelOnlyHub.StartAsync();
        using var recorded = new RecordedMeasurements(hub.App.Services.GetRequiredService<IMeterFactory>());

        await using var first = await SubscribeAsync(hub.Client, hub.HubUrl, TestHub.SubscriberToken());
        await using var second = await SubscribeAsync(hub.Client, hub.HubUrl, TestHub.SubscriberToken());
        await TestHub.Eventually(() => recorded.Observe("herald.subscriptions.active", "herald.subscription.server=kestrel") == 2, "two active subscriptions");

        for (var i = 0; i < 2; i++)
        {
            Assert.Equal(HttpStatusCode.OK, await PublishAsync(hub.Client, hub.HubUrl, TestHub.PublisherToken(), Topic));
        }

        Assert.Equal(HttpStatusCode.Forbidden, await PublishAsync(hub.Client, hub.HubUrl, TestHub.PublisherToken("https://example.com/other"), Topic));
        for (var i = 0; i < 2; i++)
        {
            Assert.NotNull(await first.NextAsync());
            Assert.NotNull(await second.NextAsync());
        }

        await TestHub.Eventually(() => recorded.Sum("herald.updates.published") == 3, "three publishes counted");
        Assert.Equal(2, recorded.Sum("herald.updates.published", "herald.publish.outcome=stored"));
        Assert.Equal(1, recorded.Sum("herald.updates.published", "herald.publish.outcome=refused", "http.response.status_code=403"));
        Assert.Equal(3, recorded.Count("herald.publish.duration"));
        Assert.Equal(2, recorded.Count("herald.store.append.duration"));
        await TestHub.Eventually(() => recorded.Observe("herald.deliveries") == 4, "four deliveries");
        await TestHub.Eventually(() => recorded.Count("herald.dispatch.lag") == 2, "two dispatch lags (recorded by the fan-out, after the answer)");
        Assert.Equal(2, recorded.Sum("herald.subscriptions.opened", "herald.subscription.server=kestrel"));
    }

    [Fact]
    public async Task A_publish_the_store_cannot_take_is_counted_as_store_unavailable()
    {
        var dataDir = Path.Combine(Path.GetTempPath(), "herald-tests", Guid.NewGuid().ToString("N"));
        await using var hub = await KestrelOnlyHub.StartAsync(new Dictionary<string, string?> { ["Herald:DataDir"] = dataDir });
        using var recorded = new RecordedMeasurements(hub.App.Services.GetRequiredService<IMeterFactory>());
        var store = Assert.IsType<Herald.Storage.Sqlite.SqliteUpdateStore>(hub.Hub.Store);

        store.ExecuteOnWriterForTesting("PRAGMA query_only=1");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, await PublishAsync(hub.Client, hub.HubUrl, TestHub.PublisherToken(), Topic));
        store.ExecuteOnWriterForTesting("PRAGMA query_only=0");
        Assert.Equal(HttpStatusCode.OK, await PublishAsync(hub.Client, hub.HubUrl, TestHub.PublisherToken(), Topic));

        await TestHub.Eventually(() => recorded.Sum("herald.updates.published") == 2, "two publishes counted");
        Assert.Equal(1, recorded.Sum("herald.updates.published", "herald.publish.outcome=store_unavailable"));
        Assert.Equal(1, recorded.Sum("herald.updates.published", "herald.publish.outcome=stored"));
        Assert.Equal(2, recorded.Count("herald.store.append.duration"));
    }

    [Fact]
    public async Task Closes_are_counted_by_reason_token_expired_write_timeout_and_shutdown()
    {
        var clock = new SkippingClock();
        await using var hub = await TestHub.StartAsync(new Dictionary<string, string?> { ["Herald:WriteTimeout"] = "00:10:00" }, clock);
        using var recorded = new RecordedMeasurements(hub.App.Services.GetRequiredService<IMeterFactory>());

        // Deadlines: the write timeout (10 min) before the 1-hour token; the 5-minute token before the write timeout.
        using var client = new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
        await using var recycled = await SubscribeAsync(client, hub.HubUrl, TestHub.SubscriberToken());
        await using var expiring = await SubscribeAsync(client, hub.HubUrl, TokenIssuer.Create(TestHub.Key, null, ["*"], TimeSpan.FromMinutes(5)));
        await TestHub.Eventually(() => recorded.Observe("herald.subscriptions.active") == 2, "two active subscriptions");

        clock.Skip(TimeSpan.FromMinutes(11));
        Assert.True(await recycled.EndsWithinAsync(30_000));
        Assert.True(await expiring.EndsWithinAsync(30_000));
        await TestHub.Eventually(() => recorded.Sum("herald.subscriptions.closed") == 2, "two closes counted");
        Assert.Equal(1, recorded.Sum("herald.subscriptions.closed", "herald.close.reason=write_timeout"));
        Assert.Equal(1, recorded.Sum("herald.subscriptions.closed", "herald.close.reason=token_expired"));

        await using var last = await SubscribeAsync(client, hub.HubUrl, TestHub.SubscriberToken());
        await TestHub.Eventually(() => recorded.Observe("herald.subscriptions.active") == 1, "one active subscription");
        hub.Hub.CloseAll();
        Assert.True(await last.EndsWithinAsync(30_000));
        await TestHub.Eventually(() => recorded.Sum("herald.subscriptions.closed", "herald.close.reason=shutdown") == 1, "a close at shutdown");
        Assert.Equal(0, recorded.Observe("herald.subscriptions.active"));
    }

    [Fact]
    public async Task A_subscriber_cut_for_not_reading_is_counted_as_too_slow()
    {
        await using var hub = await TestHub.StartAsync(new Dictionary<string, string?>
        {
            ["Herald:Anonymous"] = "true",
            ["Herald:SubscriberQueueBytes"] = (64 * 1024).ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
        using var recorded = new RecordedMeasurements(hub.App.Services.GetRequiredService<IMeterFactory>());
        var uri = new Uri(hub.BaseUrl);

        // The stalled client: a tiny receive buffer, and it never reads after sending its request (as SubscriberQueueBytesTests).
        using var stalled = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 4096 };
        await stalled.ConnectAsync(uri.Host, uri.Port).WaitAsync(TimeSpan.FromSeconds(30));
        await stalled.SendAsync(Encoding.ASCII.GetBytes($"GET /.well-known/mercure?topic={Uri.EscapeDataString(Topic)} HTTP/1.1\r\nHost: {uri.Authority}\r\n\r\n"), SocketFlags.None);
        await TestHub.Eventually(() => hub.Hub.SubscriberCount == 1, "the stalled subscriber registered");

        // 32 KB updates fill the kernel buffers, then the hub's queue past its byte limit: the hub cuts the stream.
        var payload = new string('x', 32 * 1024);
        for (var published = 0; hub.Hub.SubscriberCount == 1; published++)
        {
            Assert.True(published < 2000, $"the stalled subscriber was not cut after {published} updates of 32 KB");
            await hub.Hub.PublishAsync(new Update { Topics = [Topic], Data = payload }).AsTask().WaitAsync(TimeSpan.FromSeconds(30));
        }

        await TestHub.Eventually(() => recorded.Sum("herald.subscriptions.closed", "herald.close.reason=too_slow") == 1, "the cut counted as too_slow");
        Assert.Equal(1, recorded.Sum("herald.subscriptions.closed"));
    }

    private static async Task<SseReader> SubscribeAsync(HttpClient client, string hubUrl, string token)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, hubUrl + "?topic=" + Uri.EscapeDataString(Topic));
        request.Headers.Authorization = new("Bearer", token);
        var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await SseReader.OpenAsync(response);
    }

    private static async Task<HttpStatusCode> PublishAsync(HttpClient client, string hubUrl, string token, string topic)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, hubUrl)
        {
            Content = new FormUrlEncodedContent([new("topic", topic), new("data", "a book")]),
        };
        request.Headers.Authorization = new("Bearer", token);
        using var response = await client.SendAsync(request).WaitAsync(TimeSpan.FromSeconds(30));
        return response.StatusCode;
    }

    /// <summary>Every measurement of the <c>Herald</c> meter made through one app's meter factory, by instrument and tags.</summary>
    private sealed class RecordedMeasurements : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly ConcurrentDictionary<string, double> _sums = new();
        private readonly ConcurrentDictionary<string, long> _counts = new();
        private readonly ConcurrentDictionary<string, double> _observed = new();
        private readonly object _observing = new();

        public RecordedMeasurements(IMeterFactory factory)
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == "Herald" && ReferenceEquals(instrument.Meter.Scope, factory))
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Record(instrument, value, tags));
            _listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) => Record(instrument, value, tags));
            _listener.Start();
        }

        /// <summary>The sum of what was recorded on <paramref name="name"/> with every tag given (<c>key=value</c>).</summary>
        public double Sum(string name, params string[] tags) => Matching(_sums, name, tags).Sum();

        /// <summary>How many measurements were recorded on <paramref name="name"/> (a histogram's count).</summary>
        public long Count(string name, params string[] tags) => Matching(_counts, name, tags).Sum();

        /// <summary>An observable instrument's current value, summed over the tag sets that carry <paramref name="tags"/>.</summary>
        public double Observe(string name, params string[] tags)
        {
            lock (_observing)
            {
                _observed.Clear();
                _listener.RecordObservableInstruments();
                return Matching(_observed, name, tags).Sum();
            }
        }

        public void Dispose() => _listener.Dispose();

        private static IEnumerable<T> Matching<T>(ConcurrentDictionary<string, T> values, string name, string[] tags)
            => values.Where(kv => kv.Key.Split('|')[0] == name && tags.All(t => kv.Key.Split('|').Contains(t))).Select(kv => kv.Value);

        private void Record<T>(Instrument instrument, T value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
            where T : struct, IConvertible
        {
            var parts = new List<string> { instrument.Name };
            foreach (var tag in tags)
            {
                parts.Add($"{tag.Key}={Convert.ToString(tag.Value, System.Globalization.CultureInfo.InvariantCulture)}");
            }

            var key = string.Join('|', parts);
            var number = value.ToDouble(System.Globalization.CultureInfo.InvariantCulture);
            if (instrument.IsObservable)
            {
                _observed[key] = number;
                return;
            }

            _sums.AddOrUpdate(key, number, (_, sum) => sum + number);
            _counts.AddOrUpdate(key, 1, (_, count) => count + 1);
        }
    }
}
