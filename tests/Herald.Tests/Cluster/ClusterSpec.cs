using System.Net;
using System.Text.Json;
using Herald.Mercure;
using Herald.Storage;
using Herald.Tests.Infrastructure;
using Herald.Tests.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace Herald.Tests.Cluster;

/// <summary>
/// What a cluster promises its subscribers: several hubs on one shared log, each a real hub on Kestrel, and every
/// promise checked over HTTP. Run against every shared log by a subclass that says how a node joins it (the idea of
/// SignalR's <c>ScaleoutHubLifetimeManagerTests</c>: one suite, an in-memory backplane and Redis). What only one
/// transport has (a Redis outage, a killed process) stays in that transport's own tests.
/// </summary>
public abstract class ClusterSpec : IAsyncLifetime
{
    private const string TopicA = "https://example.com/a";
    private const string TopicB = "https://example.com/b";
    private const string Template = "https://example.com/{letter}";
    private const string SubscriptionEvents = "/.well-known/mercure/subscriptions{/topic}{/subscriber}";
    private const int PerNode = 30;
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    private readonly List<ClusterNode> _nodes = [];
    private readonly List<ClusterSubscriber> _subscribers = [];

    /// <summary>Starts a hub on this test's shared log with <paramref name="settings"/> (each test has a log of its own).</summary>
    private protected abstract Task<ClusterNode> StartNodeAsync(IDictionary<string, string?> settings);

    /// <summary>The store every node of this cluster must run on (so a misconfigured node cannot pass alone).</summary>
    private protected abstract Type StoreType { get; }

    public Task InitializeAsync() => Task.CompletedTask;

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
    }

    [Fact]
    public async Task Every_update_published_on_any_node_reaches_every_matching_subscriber_on_every_node_exactly_once()
    {
        var nodes = await StartNodesAsync(3);
        var watching = new List<(ClusterSubscriber Subscriber, Func<string, bool> Matches)>();
        foreach (var node in nodes)
        {
            watching.Add((await SubscribeAsync(node, "*"), _ => true));
            watching.Add((await SubscribeAsync(node, TopicA), topic => topic == TopicA));
            watching.Add((await SubscribeAsync(node, Template), _ => true));
        }

        // Every node publishes at once, through HTTP and through IHeraldPublisher, so appends from all nodes interleave.
        var sent = await PublishFromEveryNodeAsync(nodes);
        var end = await nodes[0].PublishAsync(TopicA, "end");

        foreach (var (subscriber, matches) in watching)
        {
            var received = await subscriber.IdsBeforeAsync(end);
            Assert.Equal(received.Distinct(), received);
            Assert.Equal(sent.Where(s => matches(s.Topic)).Select(s => s.Id).Order(), received.Order());
        }
    }

    [Fact]
    public async Task Subscribers_on_every_node_see_one_order_live_and_replayed()
    {
        var nodes = await StartNodesAsync(3);
        var everything = new List<ClusterSubscriber>();
        var onlyA = new List<ClusterSubscriber>();
        foreach (var node in nodes)
        {
            everything.Add(await SubscribeAsync(node, "*"));
            onlyA.Add(await SubscribeAsync(node, TopicA));
        }

        var sent = await PublishFromEveryNodeAsync(nodes);
        var end = await nodes[2].PublishAsync(TopicA, "end");

        // The shared log's order, as any node's history reads it: the same on all of them.
        var order = await LogOrderAsync(nodes[0]);
        Assert.Equal(end, order[^1]);
        order.RemoveAt(order.Count - 1);
        Assert.Equal(sent.Select(s => s.Id).Order(), order.Order());
        foreach (var node in nodes.Skip(1))
        {
            Assert.Equal(order, (await LogOrderAsync(node))[..^1]);
        }

        var topicA = sent.Where(s => s.Topic == TopicA).Select(s => s.Id).ToHashSet();
        foreach (var subscriber in everything)
        {
            Assert.Equal(order, await subscriber.IdsBeforeAsync(end));
        }

        foreach (var subscriber in onlyA)
        {
            Assert.Equal(order.Where(topicA.Contains), await subscriber.IdsBeforeAsync(end));
        }

        // A replay from the earliest reads the same order on every node.
        foreach (var node in nodes)
        {
            var replayed = await SubscribeAsync(node, "*");
            Assert.Equal(order, await replayed.IdsBeforeAsync(end));
        }
    }

    [Fact]
    public async Task A_subscriber_resumes_on_any_node_with_Last_Event_ID_and_gets_exactly_what_followed()
    {
        var nodes = await StartNodesAsync(2);
        var subscriber = await SubscribeAsync(nodes[0], "*");

        // Both nodes publish until 20 updates each were acknowledged after the subscriber came back, so updates keep
        // arriving while it reads, while it is away and while it replays on the other node, however slow the machine.
        var acknowledged = 0;
        var resumed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var publishing = nodes.Select((node, n) => Task.Run(async () =>
        {
            for (var (i, afterResume) = (0, 0); afterResume < 20; i++)
            {
                var resumedBefore = resumed.Task.IsCompleted;
                await node.PublishAsync(i % 2 == 0 ? TopicA : TopicB, $"node {n} #{i}");
                Interlocked.Increment(ref acknowledged);
                afterResume += resumedBefore ? 1 : 0;
            }
        })).ToList();

        await subscriber.WaitUntilAsync(events => events.Count >= 20, "20 updates before leaving");
        await subscriber.CloseAsync();
        var leftAfter = subscriber.Ids[^1];
        var whileAway = Volatile.Read(ref acknowledged) + 20;
        await TestTimeouts.EventuallyAsync(() => Task.FromResult(Volatile.Read(ref acknowledged) >= whileAway), "20 updates published while the subscriber is away");

        await subscriber.ResumeOnAsync(nodes[1]);
        resumed.SetResult();
        await Task.WhenAll(publishing).WaitAsync(Deadline);
        var end = await nodes[0].PublishAsync(TopicA, "end");

        // Across both connections: the whole log, in its order, none twice, none missing.
        var order = (await LogOrderAsync(nodes[1]))[..^1];
        Assert.Equal(order, await subscriber.IdsBeforeAsync(end));

        // A node that was not there when the id was published resumes from it too, on every node alike.
        nodes.Add(await AddNodeAsync());
        var after = order[(order.IndexOf(leftAfter) + 1)..];
        foreach (var node in nodes)
        {
            var late = await SubscribeAsync(node, "*", lastEventId: leftAfter);
            Assert.Equal(after, await late.IdsBeforeAsync(end));
        }
    }

    [Fact]
    public async Task An_id_is_taken_once_across_the_cluster()
    {
        var nodes = await StartNodesAsync(3);

        var attempts = await Task.WhenAll(nodes.Select((node, n) => node.PostAsync(TopicA, $"from node {n}", id: "urn:test:one-id"))).WaitAsync(Deadline);
        var end = await nodes[0].PublishAsync(TopicA, "end");

        Assert.Equal(1, attempts.Count(a => a.Status == HttpStatusCode.OK));
        Assert.Equal(nodes.Count - 1, attempts.Count(a => a.Status == HttpStatusCode.Conflict));
        var winner = attempts.Single(a => a.Status == HttpStatusCode.OK);
        Assert.Equal("urn:test:one-id", winner.Body);
        foreach (var node in nodes)
        {
            var subscriber = await SubscribeAsync(node, "*");
            await subscriber.IdsBeforeAsync(end);
            Assert.Equal([("urn:test:one-id", $"from node {attempts.ToList().IndexOf(winner)}")], subscriber.Events[..^1]);
        }
    }

    [Fact]
    public async Task A_private_update_reaches_only_the_authorized_subscribers_of_every_node_live_and_replayed()
    {
        var nodes = await StartNodesAsync(3);
        var allowed = TestHub.SubscriberToken(TopicA);
        var denied = TestHub.SubscriberToken("https://example.com/other");
        var live = new List<(ClusterSubscriber Subscriber, bool Allowed)>();
        foreach (var node in nodes)
        {
            live.Add((await SubscribeAsync(node, TopicA, allowed), true));
            live.Add((await SubscribeAsync(node, TopicA, denied), false));
        }

        var secret = await nodes[0].PublishAsync(TopicA, "secret", isPrivate: true);
        var open = await nodes[1].PublishAsync(TopicA, "public");

        var replayed = new List<(ClusterSubscriber Subscriber, bool Allowed)>();
        foreach (var node in nodes)
        {
            replayed.Add((await SubscribeAsync(node, TopicA, allowed), true));
            replayed.Add((await SubscribeAsync(node, TopicA, denied), false));
        }

        foreach (var (subscriber, isAllowed) in live.Concat(replayed))
        {
            Assert.Equal(isAllowed ? [secret] : [], await subscriber.IdsBeforeAsync(open));
        }
    }

    [Fact]
    public async Task A_subscription_on_one_node_is_announced_and_listed_on_every_node_and_so_is_its_end()
    {
        var nodes = await StartNodesAsync(3, new Dictionary<string, string?> { ["Herald:Subscriptions"] = "true" });
        var observers = new List<ClusterSubscriber>();
        foreach (var node in nodes)
        {
            // Any event it gets shows it is registered; its own join is one, and comes through the shared log.
            var observer = await SubscribeAsync(node, SubscriptionEvents, TestHub.SubscriberToken(SubscriptionEvents));
            await observer.WaitUntilAsync(events => events.Count > 0, "the observer's own subscription event");
            observers.Add(observer);
        }

        var joiner = await ClusterSubscriber.OpenAsync(nodes[1], TestHub.SubscriberToken(TopicA), [TopicA]);
        var joined = new List<string>();
        foreach (var observer in observers)
        {
            await observer.WaitUntilAsync(events => AboutTopicA(events).Any(), "the join on node 1");
            var (subscriber, active) = AboutTopicA(observer.Events).First();
            Assert.True(active);
            joined.Add(subscriber);
        }

        var id = joined[0];
        Assert.All(joined, s => Assert.Equal(id, s));
        foreach (var node in nodes)
        {
            await TestTimeouts.EventuallyAsync(async () => (await node.ListedSubscribersAsync()).Contains(id), $"{node.BaseUrl} listing {id}");
        }

        await joiner.DisposeAsync();
        foreach (var observer in observers)
        {
            await observer.WaitUntilAsync(events => AboutTopicA(events).Any(e => !e.Active), "the leave on node 1");
            Assert.Equal([(id, true), (id, false)], AboutTopicA(observer.Events));
        }

        foreach (var node in nodes)
        {
            await TestTimeouts.EventuallyAsync(async () => !(await node.ListedSubscribersAsync()).Contains(id), $"{node.BaseUrl} no longer listing {id}");
        }
    }

    private protected async Task<ClusterNode> AddNodeAsync(IDictionary<string, string?>? settings = null)
    {
        var node = await StartNodeAsync(new Dictionary<string, string?>(settings ?? new Dictionary<string, string?>()));
        _nodes.Add(node);
        Assert.IsType(StoreType, node.App.Services.GetRequiredService<MercureHub>().Store);
        return node;
    }

    private async Task<List<ClusterNode>> StartNodesAsync(int count, IDictionary<string, string?>? settings = null)
    {
        var nodes = new List<ClusterNode>();
        for (var i = 0; i < count; i++)
        {
            nodes.Add(await AddNodeAsync(settings));
        }

        return nodes;
    }

    private protected async Task<ClusterSubscriber> SubscribeAsync(ClusterNode node, string selector, string? token = null, string lastEventId = "earliest")
    {
        var subscriber = await ClusterSubscriber.OpenAsync(node, token ?? TestHub.SubscriberToken(), [selector], lastEventId);
        _subscribers.Add(subscriber);
        return subscriber;
    }

    /// <summary>Every node publishes <see cref="PerNode"/> updates at once, two in three through HTTP, one through <see cref="IHeraldPublisher"/>.</summary>
    private static async Task<List<(string Id, string Topic)>> PublishFromEveryNodeAsync(IReadOnlyList<ClusterNode> nodes)
    {
        var publishing = nodes.Select((node, n) => Task.Run(async () =>
        {
            var sent = new List<(string Id, string Topic)>();
            for (var i = 0; i < PerNode; i++)
            {
                var topic = i % 2 == 0 ? TopicA : TopicB;
                var data = $"node {n} #{i}";
                sent.Add((i % 3 == 2 ? await node.PublishInProcessAsync(topic, data) : await node.PublishAsync(topic, data), topic));
            }

            return sent;
        }));
        return [.. (await Task.WhenAll(publishing).WaitAsync(Deadline)).SelectMany(s => s)];
    }

    /// <summary>The ids of the shared log in sequence order, read through <paramref name="node"/>'s store.</summary>
    private static async Task<List<string>> LogOrderAsync(ClusterNode node) =>
        [.. (await node.App.Services.GetRequiredService<MercureHub>().Store.ReadAllAsync()).Select(s => s.Id)];

    /// <summary>The subscription events about <see cref="TopicA"/>: who, and whether joining or leaving.</summary>
    private static List<(string Subscriber, bool Active)> AboutTopicA(List<(string Id, string Data)> events)
    {
        var about = new List<(string, bool)>();
        foreach (var (_, data) in events)
        {
            using var json = JsonDocument.Parse(data);
            if (json.RootElement.GetProperty("topic").GetString() == TopicA)
            {
                about.Add((json.RootElement.GetProperty("subscriber").GetString()!, json.RootElement.GetProperty("active").GetBoolean()));
            }
        }

        return about;
    }
}
