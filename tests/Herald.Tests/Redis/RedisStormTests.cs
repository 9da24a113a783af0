using System.Diagnostics;
using System.Globalization;
using System.Net;
using Herald.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Herald.Tests.Redis;

/// <summary>
/// A reconnect storm on a Redis cluster (issue #17 f): three <c>herald serve</c> processes on one real
/// <c>redis-server</c>, a few hundred subscribers spread over them, publishing going on; one node is SIGKILLed and its
/// subscribers all come back at once, through their load balancer, on the other two with <c>Last-Event-ID</c>. After
/// publishing stops every subscriber must hold every acknowledged update exactly once.
/// </summary>
/// <remarks>
/// The size is what CI affords; <c>HERALD_STORM_SUBSCRIBERS</c> runs it bigger by hand (the figures it prints are
/// indicative, never asserted).
/// </remarks>
public sealed class RedisStormTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string Topic = "https://example.com/storm";

    // Updates of a realistic size, so a resume reads what it would in production (hundreds of bytes each).
    private static readonly string Padding = new('x', 400);
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    private readonly List<HubProcess> _nodes = [];
    private readonly List<LoopbackForwarder> _balancers = [];
    private readonly List<StormSubscriber> _subscribers = [];
    private readonly HttpClient _publisher = new() { Timeout = Deadline };
    private readonly HttpClient _streams = new(new SocketsHttpHandler { PooledConnectionLifetime = Timeout.InfiniteTimeSpan })
    {
        Timeout = TimeSpan.FromSeconds(60),
    };

    private RedisServer _redis = null!;

    private static int Size => int.TryParse(Environment.GetEnvironmentVariable("HERALD_STORM_SUBSCRIBERS"), CultureInfo.InvariantCulture, out var n) && n >= 3 ? n : 240;

    public async Task InitializeAsync() => _redis = await RedisServer.StartAsync();

    public async Task DisposeAsync()
    {
        await Task.WhenAll(_subscribers.Select(s => s.DisposeAsync().AsTask()));
        foreach (var balancer in _balancers)
        {
            await balancer.DisposeAsync();
        }

        foreach (var node in _nodes)
        {
            await node.DisposeAsync();
        }

        _publisher.Dispose();
        _streams.Dispose();
        await _redis.DisposeAsync();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task After_a_node_is_killed_every_resumed_subscriber_holds_every_acknowledged_update_exactly_once(bool presence)
    {
        var prefix = "storm-" + Guid.NewGuid().ToString("N");
        string[] args = ["--anonymous", "--transport", $"{_redis.Url}?prefix={prefix}", .. presence ? (string[])["--subscriptions"] : []];
        var nodes = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => HubProcess.StartAsync(
            Path.Combine(Path.GetTempPath(), "herald-tests", Guid.NewGuid().ToString("N")), args))).WaitAsync(TimeSpan.FromSeconds(90));
        _nodes.AddRange(nodes);
        var (doomed, survivors) = (nodes[0], nodes[1..]);

        // The doomed node's subscribers reach it through two balancers, which send them to one survivor each once it is gone.
        foreach (var _ in survivors)
        {
            _balancers.Add(new LoopbackForwarder(Port(doomed)));
        }

        var orphans = new List<StormSubscriber>();
        for (var i = 0; i < Size; i++)
        {
            var onDoomed = i % 3 == 0;
            var baseUrl = onDoomed ? _balancers[i / 3 % _balancers.Count].BaseUrl : survivors[i % 3 - 1].BaseUrl;
            var subscriber = new StormSubscriber(_streams, $"{baseUrl}/.well-known/mercure?topic={Uri.EscapeDataString(Topic)}");
            _subscribers.Add(subscriber);
            if (onDoomed)
            {
                orphans.Add(subscriber);
            }
        }

        // One publisher to a survivor, numbered updates, paced at about 100/s; only a 200 counts as acknowledged.
        var acknowledged = new List<long>();
        var refused = 0;
        using var stopPublishing = new CancellationTokenSource();
        var publishing = Task.Run(async () =>
        {
            using var pace = new PeriodicTimer(TimeSpan.FromMilliseconds(10));
            for (long n = 1; !stopPublishing.IsCancellationRequested; n++)
            {
                await pace.WaitForNextTickAsync();
                if (await PublishAsync(survivors[(int)(n % 2)], n) == HttpStatusCode.OK)
                {
                    lock (acknowledged)
                    {
                        acknowledged.Add(n);
                    }
                }
                else
                {
                    Interlocked.Increment(ref refused);
                }
            }
        });

        int Acknowledged()
        {
            lock (acknowledged)
            {
                return acknowledged.Count;
            }
        }

        // Everyone is live (has an update) before the kill; then some more, so the orphans have history to resume.
        await TestHub.Eventually(() => _subscribers.All(s => s.Count > 0), "every subscriber's first update", 120_000);
        var beforeKill = Acknowledged();
        await TestHub.Eventually(() => Acknowledged() >= beforeKill + 50, "50 updates acknowledged before the kill", 60_000);

        // The balancers take a while to notice: the orphans find nobody there while 200 more updates are published,
        // so each has that much history to resume, then they all come back at once.
        foreach (var balancer in _balancers)
        {
            balancer.ForwardTo(0);
        }

        var sentBefore = await _redis.InfoAsync("total_net_output_bytes");
        await doomed.KillAsync();
        var killed = Stopwatch.StartNew();
        var atKill = Acknowledged();
        await TestHub.Eventually(() => Acknowledged() >= atKill + 200, "200 updates acknowledged while the orphans are away", 60_000);
        foreach (var (balancer, survivor) in _balancers.Zip(survivors))
        {
            balancer.ForwardTo(Port(survivor));
        }

        // Publishing goes on through the storm, until every orphan is back and 100 more updates were acknowledged.
        try
        {
            await TestHub.Eventually(() => orphans.All(s => s.Opened >= 2), "every orphan reconnected", 120_000);
        }
        catch (Exception)
        {
            output.WriteLine($"{orphans.Count(s => s.Opened >= 2)} of {orphans.Count} orphans back; {Acknowledged()} acknowledged, {refused} refused");
            foreach (var orphan in orphans.Where(s => s.Opened < 2))
            {
                output.WriteLine("not back: " + orphan.State);
            }

            WriteNodeLogs(nodes);
            throw;
        }

        var reconnected = killed.Elapsed;
        var afterReconnect = Acknowledged();
        await TestHub.Eventually(() => Acknowledged() >= afterReconnect + 100, "100 updates acknowledged after the storm", 60_000);
        await stopPublishing.CancelAsync();
        await publishing.WaitAsync(Deadline);
        var stopped = killed.Elapsed;
        var sent = await _redis.InfoAsync("total_net_output_bytes") - sentBefore;

        List<long> expected;
        lock (acknowledged)
        {
            expected = [.. acknowledged];
        }

        var deadline = Stopwatch.StartNew();
        while (_subscribers.Any(s => s.Missing(expected).Count > 0) && deadline.Elapsed < Deadline)
        {
            await Task.Delay(100);
        }

        var lacking = _subscribers.Select(s => s.Missing(expected)).Where(m => m.Count > 0).ToList();
        var duplicated = _subscribers.Select(s => s.Duplicated()).Where(d => d.Count > 0).ToList();
        output.WriteLine(
            $"{Size} subscribers, presence {presence}: {expected.Count} acknowledged, {refused} refused; orphans back {reconnected.TotalSeconds:F1} s after the kill; "
            + $"all complete {(lacking.Count == 0 ? (stopped + deadline.Elapsed).TotalSeconds.ToString("F1", CultureInfo.InvariantCulture) + " s after the kill" : "never")}; "
            + $"reconnections {_subscribers.Sum(s => s.Opened - 1)}, resumed elsewhere {_subscribers.Sum(s => s.ResumedElsewhere)}; "
            + $"Redis sent {sent / 1e6:F1} MB from the kill until publishing stopped");
        WriteNodeLogs(nodes);

        Assert.True(
            lacking.Count == 0,
            $"{lacking.Count} of {Size} subscribers lack acknowledged updates {Deadline.TotalSeconds} s after publishing stopped "
            + $"({lacking.Sum(m => m.Count)} missing in all; e.g. {string.Join(',', lacking.FirstOrDefault()?.Take(10) ?? [])})");
        Assert.True(duplicated.Count == 0, $"{duplicated.Count} subscribers received an update twice (e.g. {string.Join(',', duplicated.FirstOrDefault() ?? [])})");

        if (presence)
        {
            // Every join reached every survivor: the subscribers first listed (the dead node's stay listed: nobody
            // announced their leave) and the orphans once more, under their new subscriptions.
            foreach (var survivor in survivors)
            {
                await EventuallyListedAsync(survivor, Size + orphans.Count);
            }
        }
    }

    /// <summary>What each node logged above information (the line after a level tag holds the message), counted by event.</summary>
    private void WriteNodeLogs(HubProcess[] nodes)
    {
        foreach (var (node, n) in nodes.Select((node, n) => (node, n)))
        {
            var lines = node.Output;
            var events = lines
                .Select((line, i) => (line, i))
                .Where(l => l.line.StartsWith("warn:", StringComparison.Ordinal) || l.line.StartsWith("fail:", StringComparison.Ordinal) || l.line.StartsWith("crit:", StringComparison.Ordinal))
                .GroupBy(l => l.line)
                .Select(g => $"{g.Count()}× {g.Key} {(g.First().i + 1 < lines.Count ? lines[g.First().i + 1].Trim() : string.Empty)}");
            output.WriteLine($"node {n}: {string.Join(" | ", events)}");
        }
    }

    private static int Port(HubProcess node) => new Uri(node.BaseUrl).Port;

    private async Task<HttpStatusCode> PublishAsync(HubProcess node, long n)
    {
        var number = n.ToString(CultureInfo.InvariantCulture);
        using var request = new HttpRequestMessage(HttpMethod.Post, node.HubUrl)
        {
            Content = new FormUrlEncodedContent([new("topic", Topic), new("data", number + " " + Padding), new("id", "storm-" + number)]),
        };
        request.Headers.Authorization = new("Bearer", TestHub.PublisherToken());
        try
        {
            using var response = await _publisher.SendAsync(request);
            return response.StatusCode;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            // No answer: not acknowledged.
            return HttpStatusCode.RequestTimeout;
        }
    }

    /// <summary>Polls a node's subscriptions API until it lists <paramref name="count"/> subscriptions.</summary>
    private async Task EventuallyListedAsync(HubProcess node, int count)
    {
        var listed = 0;
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < Deadline)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, node.HubUrl + "/subscriptions");
            request.Headers.Authorization = new("Bearer", TestHub.SubscriberToken());
            using var response = await _publisher.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            using var json = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            listed = json.RootElement.GetProperty("subscriptions").GetArrayLength();
            if (listed == count)
            {
                return;
            }

            await Task.Delay(100);
        }

        Assert.Fail($"{node.BaseUrl} lists {listed} subscriptions, not {count}");
    }
}
