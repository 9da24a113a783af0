using System.Net;
using System.Text.Json;
using Herald.Tests.Infrastructure;

namespace Herald.Tests.Redis;

/// <summary>
/// Several <c>herald serve</c> processes on one real <c>redis-server</c>: what a cluster promises its subscribers
/// when updates are published on any node, when a node is killed, and when Redis itself goes away.
/// </summary>
public sealed class ClusterTests : IAsyncLifetime
{
    private const string TopicA = "https://example.com/a";
    private const string TopicB = "https://example.com/b";
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    private readonly List<HubProcess> _nodes = [];
    private readonly List<StreamCollector> _subscribers = [];
    private readonly HttpClient _client = new() { Timeout = TimeSpan.FromSeconds(30) };
    private RedisServer _redis = null!;

    public async Task InitializeAsync() => _redis = await RedisServer.StartAsync(appendOnly: true);

    public async Task DisposeAsync()
    {
        foreach (var subscriber in _subscribers)
        {
            await subscriber.DisposeAsync();
        }

        foreach (var node in _nodes)
        {
            await node.DisposeAsync();
        }

        _client.Dispose();
        await _redis.DisposeAsync();
    }

    [Fact]
    public async Task Three_nodes_every_subscriber_gets_every_matching_update_once_in_the_same_order()
    {
        var nodes = await StartNodesAsync(3);
        foreach (var node in nodes)
        {
            foreach (var selector in (string[])["*", TopicA, "https://example.com/{letter}"])
            {
                _subscribers.Add(await StreamCollector.OpenAsync(_client, node.HubUrl, selector));
            }
        }

        // Three publishers at once, each sending to random nodes, so updates from different nodes interleave.
        var topics = new Dictionary<string, string>();
        var publishers = Enumerable.Range(0, 3).Select(p => Task.Run(async () =>
        {
            var random = new Random(p);
            var sent = new List<(string Id, string Topic)>();
            for (var i = 0; i < 40; i++)
            {
                var topic = i % 2 == 0 ? TopicA : TopicB;
                var (status, id) = await PublishAsync(nodes[random.Next(nodes.Count)], topic, $"p{p}-{i}");
                Assert.Equal(HttpStatusCode.OK, status);
                sent.Add((id, topic));
            }

            return sent;
        }));
        foreach (var (id, topic) in (await Task.WhenAll(publishers).WaitAsync(Deadline)).SelectMany(s => s))
        {
            topics.Add(id, topic);
        }

        var countA = topics.Values.Count(t => t == TopicA);
        foreach (var (subscriber, n) in _subscribers.Select((s, n) => (s, n)))
        {
            await subscriber.WaitForAsync(n % 3 == 1 ? countA : topics.Count, Deadline);
        }

        // The first node's "*" subscriber sets the reference order; everyone else sees the same one.
        var order = _subscribers[0].Ids;
        Assert.Equal(topics.Keys.Order(), order.Order());
        foreach (var (subscriber, n) in _subscribers.Select((s, n) => (s, n)))
        {
            var expected = n % 3 == 1 ? order.Where(id => topics[id] == TopicA).ToList() : order;
            Assert.Equal(expected, subscriber.Ids);
        }
    }

    [Fact]
    public async Task Subscribers_of_a_killed_node_resume_on_another_with_Last_Event_ID_and_miss_nothing()
    {
        var nodes = await StartNodesAsync(2);
        var (doomed, survivor) = (nodes[0], nodes[1]);
        for (var i = 0; i < 3; i++)
        {
            _subscribers.Add(await StreamCollector.OpenAsync(_client, doomed.HubUrl, "*"));
        }

        var witness = await StreamCollector.OpenAsync(_client, survivor.HubUrl, "*");
        _subscribers.Add(witness);

        // One publisher, so the acknowledgement order is the stream order. It keeps going until 50 updates were
        // acknowledged after the doomed node's subscribers resumed, so it publishes through the kill and through
        // their absence however fast or slow the machine is.
        var acked = new List<string>();
        var resumed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var publishing = Task.Run(async () =>
        {
            var afterResume = 0;
            for (var i = 0; afterResume < 50; i++)
            {
                var resumedBefore = resumed.Task.IsCompleted;
                var (status, id) = await PublishAsync(survivor, TopicA, $"#{i}");
                Assert.Equal(HttpStatusCode.OK, status);
                lock (acked)
                {
                    acked.Add(id);
                }

                afterResume += resumedBefore ? 1 : 0;
            }
        });

        await witness.WaitForAsync(50, Deadline);
        await doomed.KillAsync();
        foreach (var subscriber in _subscribers.Take(3))
        {
            await subscriber.Ended.WaitAsync(Deadline);
        }

        // Published while they are away: only the survivor's history can bring them these.
        await witness.WaitForAsync(witness.Count + 20, Deadline);
        foreach (var subscriber in _subscribers.Take(3))
        {
            await subscriber.ResumeOnAsync(survivor.HubUrl);
        }

        resumed.SetResult();
        await publishing.WaitAsync(Deadline);
        foreach (var subscriber in _subscribers)
        {
            await subscriber.WaitForAsync(acked.Count, Deadline);
            Assert.Equal(acked, subscriber.Ids);
        }
    }

    [Fact]
    public async Task While_Redis_is_down_publishes_fail_fast_with_503_and_every_acknowledged_update_arrives()
    {
        var nodes = await StartNodesAsync(2);
        foreach (var node in nodes)
        {
            _subscribers.Add(await StreamCollector.OpenAsync(_client, node.HubUrl, "*"));
        }

        var acked = new List<string>();
        for (var i = 0; i < 20; i++)
        {
            var (status, id) = await PublishAsync(nodes[i % 2], TopicA, $"before {i}");
            Assert.Equal(HttpStatusCode.OK, status);
            acked.Add(id);
        }

        await _redis.KillAsync();
        foreach (var node in nodes)
        {
            // Fail fast is the behaviour, not a speed: the store gives up after its command timeout (2 s) and the
            // publisher gets a 503 with the reason, well inside the request's own deadline, instead of a hang or a 500.
            for (var i = 0; i < 3; i++)
            {
                var (status, body) = await PublishAsync(node, TopicA, "while down");
                Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
                Assert.StartsWith("history store unavailable, update not stored: ", body, StringComparison.Ordinal);
            }

            // Resuming needs history: also a 503 with a reason, not a 500.
            using var resume = new HttpRequestMessage(HttpMethod.Get, node.HubUrl + "?topic=*");
            resume.Headers.Add("Last-Event-ID", acked[5]);
            using var refused = await _client.SendAsync(resume, HttpCompletionOption.ResponseHeadersRead).WaitAsync(Deadline);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.StartsWith("history unavailable", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        // Each node reconnects on its own schedule; until it has, it keeps answering 503.
        await _redis.RestartAsync();
        var back = DateTime.UtcNow + Deadline;
        foreach (var node in nodes)
        {
            while (true)
            {
                var (status, id) = await PublishAsync(node, TopicA, "back");
                if (status == HttpStatusCode.OK)
                {
                    acked.Add(id);
                    break;
                }

                Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
                Assert.True(DateTime.UtcNow < back, $"publishing on {node.BaseUrl} did not recover after Redis came back");
                await Task.Delay(50);
            }
        }

        for (var i = 0; i < 20; i++)
        {
            var (status, id) = await PublishAsync(nodes[i % 2], TopicA, $"after {i}");
            Assert.Equal(HttpStatusCode.OK, status);
            acked.Add(id);
        }

        foreach (var subscriber in _subscribers)
        {
            await subscriber.WaitForAsync(acked.Count, Deadline);
            Assert.Equal(acked, subscriber.Ids);
        }
    }

    [Fact]
    public async Task After_Redis_lost_acknowledged_updates_every_update_acknowledged_afterwards_reaches_every_subscriber()
    {
        var nodes = await StartNodesAsync(2);
        foreach (var node in nodes)
        {
            _subscribers.Add(await StreamCollector.OpenAsync(_client, node.HubUrl, "*"));
        }

        var kept = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            kept.Add(await PublishAcceptedAsync(nodes[i % 2], $"kept {i}"));
        }

        // What a crash does to appendfsync everysec on a busy disk, made deterministic: Redis stops writing its
        // append-only file, acknowledges 5 more updates (subscribers get them live), dies and comes back without them.
        Assert.Equal("+OK", await _redis.CommandAsync("CONFIG SET appendonly no"));
        var lost = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            lost.Add(await PublishAcceptedAsync(nodes[i % 2], $"lost {i}"));
        }

        foreach (var subscriber in _subscribers)
        {
            await subscriber.WaitForAsync(10, Deadline);
        }

        await _redis.KillAsync();
        await _redis.RestartAsync();
        var after = new List<string>();
        for (var i = 0; i < 10; i++)
        {
            after.Add(await PublishAcceptedAsync(nodes[i % 2], $"after {i}"));
        }

        // Live subscribers: nothing acknowledged after the loss is hidden from them, and the order is one.
        foreach (var subscriber in _subscribers)
        {
            await subscriber.WaitForAsync(20, Deadline);
            Assert.Equal([.. kept, .. lost, .. after], subscriber.Ids);
        }

        // Resuming across the loss, on either node: from an id Redis kept, or from one acknowledged afterwards.
        var fromKept = await StreamCollector.ResumeAsync(_client, nodes[1].HubUrl, "*", kept[^1]);
        _subscribers.Add(fromKept);
        var fromAfter = await StreamCollector.ResumeAsync(_client, nodes[0].HubUrl, "*", after[2]);
        _subscribers.Add(fromAfter);
        await fromKept.WaitForAsync(after.Count, Deadline);
        await fromAfter.WaitForAsync(after.Count - 3, Deadline);
        Assert.Equal(after, fromKept.Ids);
        Assert.Equal(after.Skip(3), fromAfter.Ids);
    }

    [Fact]
    public async Task The_subscriptions_API_of_any_node_lists_the_subscribers_of_every_node()
    {
        var nodes = await StartNodesAsync(2, "--subscriptions");
        _subscribers.Add(await StreamCollector.OpenAsync(_client, nodes[0].HubUrl, TopicA));
        _subscribers.Add(await StreamCollector.OpenAsync(_client, nodes[1].HubUrl, TopicB));

        foreach (var node in nodes)
        {
            var topics = await EventuallyListedAsync(node, 2);
            Assert.Equal([TopicA, TopicB], topics.Order());
        }

        // A subscriber that leaves node 0 disappears from node 1's list too.
        await _subscribers[0].DisposeAsync();
        _subscribers.RemoveAt(0);
        Assert.Equal([TopicB], await EventuallyListedAsync(nodes[1], 1));
    }

    [Fact]
    public async Task A_node_stopped_gracefully_takes_its_subscribers_off_every_list()
    {
        var nodes = await StartNodesAsync(2, "--subscriptions");
        _subscribers.Add(await StreamCollector.OpenAsync(_client, nodes[0].HubUrl, TopicA));
        _subscribers.Add(await StreamCollector.OpenAsync(_client, nodes[1].HubUrl, TopicB));
        Assert.Equal(2, (await EventuallyListedAsync(nodes[1], 2)).Count);

        // SIGTERM: the node closes its streams and announces each departure before it lets go of Redis.
        Assert.Equal(0, Terminate(nodes[0].Pid, SigTerm));

        await _subscribers[0].Ended.WaitAsync(Deadline);
        Assert.Equal([TopicB], await EventuallyListedAsync(nodes[1], 1));
    }

    private const int SigTerm = 15;

    // The runtime can only SIGKILL a process; a graceful stop needs SIGTERM, sent the way `kill` does.
    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill")]
    private static extern int Terminate(int pid, int signal);

    private async Task<List<HubProcess>> StartNodesAsync(int count, params string[] extraArgs)
    {
        var starting = Enumerable.Range(0, count).Select(_ => HubProcess.StartAsync(
            Path.Combine(Path.GetTempPath(), "herald-tests", Guid.NewGuid().ToString("N")),
            ["--anonymous", "--transport", _redis.Url, .. extraArgs]));
        var nodes = await Task.WhenAll(starting).WaitAsync(TimeSpan.FromSeconds(90));
        _nodes.AddRange(nodes);
        return [.. nodes];
    }

    private async Task<(HttpStatusCode Status, string Body)> PublishAsync(HubProcess node, string topic, string data)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, node.HubUrl)
        {
            Content = new FormUrlEncodedContent([new("topic", topic), new("data", data)]),
        };
        request.Headers.Authorization = new("Bearer", TestHub.PublisherToken());
        using var response = await _client.SendAsync(request).WaitAsync(Deadline);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>Publishes until the node takes it (it answers 503 until it has reconnected to Redis); returns the id.</summary>
    private async Task<string> PublishAcceptedAsync(HubProcess node, string data)
    {
        var deadline = DateTime.UtcNow + Deadline;
        while (true)
        {
            var (status, body) = await PublishAsync(node, TopicA, data);
            if (status == HttpStatusCode.OK)
            {
                return body;
            }

            Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
            Assert.True(DateTime.UtcNow < deadline, $"publishing on {node.BaseUrl} did not recover after Redis came back");
            await Task.Delay(50);
        }
    }

    /// <summary>Polls a node's subscriptions API until it lists <paramref name="count"/> subscriptions; returns their topics.</summary>
    private async Task<List<string>> EventuallyListedAsync(HubProcess node, int count)
    {
        var deadline = DateTime.UtcNow + Deadline;
        while (true)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, node.HubUrl + "/subscriptions");
            request.Headers.Authorization = new("Bearer", TestHub.SubscriberToken());
            using var response = await _client.SendAsync(request).WaitAsync(Deadline);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            var topics = json.RootElement.GetProperty("subscriptions").EnumerateArray().Select(s => s.GetProperty("topic").GetString()!).ToList();
            if (topics.Count == count)
            {
                return topics;
            }

            Assert.True(DateTime.UtcNow < deadline, $"{node.BaseUrl} lists {topics.Count} subscriptions, not {count}");
            await Task.Delay(50);
        }
    }
}
