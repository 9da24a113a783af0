using System.Net;
using System.Text.Json;
using Herald.Mercure;
using Herald.Security;
using Herald.Tests.Infrastructure;
using Herald.Tests.Redis;
using Herald.Topics;
using Microsoft.Extensions.DependencyInjection;

namespace Herald.Tests.Mercure;

/// <summary>
/// Mercure 1.0 "Subscription Events" and "Subscription API" on a real hub. 1.0 subscriptions are joined in process
/// (<see cref="MercureHub.Join"/>, what the subscribe endpoint calls), so the announcement, the store, the sink, the
/// dispatch and the API are the real ones; the callers hold 0.x tokens, which the hub keeps accepting by default.
/// </summary>
public sealed class SubscriptionApiSpecTests(RedisFixture redis) : IClassFixture<RedisFixture>
{
    private const string HubPath = "/.well-known/mercure";
    private const string TopicA = "https://example.com/a";

    private static Task<TestHub> StartAsync(Dictionary<string, string?>? settings = null)
    {
        var all = new Dictionary<string, string?> { ["Herald:Subscriptions"] = "true" };
        foreach (var (key, value) in settings ?? [])
        {
            all[key] = value;
        }

        return TestHub.StartAsync(all);
    }

    private static JsonElement Json(string text) => JsonDocument.Parse(text).RootElement.Clone();

    private static MercureClaims V1(string topic, string payload) => new([], [Selector.Exact(topic)], null, null)
    {
        Generation = TokenGeneration.V1,
        SubscribeDetails = [new SubscribeDetail([Selector.Exact(topic)], Json(payload))],
    };

    private static Task<HttpResponseMessage> GetAsync(TestHub hub, string path, string? token, Action<HttpRequestMessage>? configure = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, hub.BaseUrl + path);
        if (token is not null)
        {
            request.Headers.Authorization = new("Bearer", token);
        }

        configure?.Invoke(request);
        return hub.Client.SendAsync(request).WaitAsync(TimeSpan.FromSeconds(30));
    }

    /// <summary>Subscribes to everything with a token granting everything; returns once its own join came back (it is registered).</summary>
    private static async Task<SseReader> ObserveAsync(TestHub hub)
    {
        var observer = await hub.SubscribeAsync("topic=*", TestHub.SubscriberToken());
        while (JsonDocument.Parse((await observer.NextAsync())!.Value.Data).RootElement.GetProperty("topic").GetString() != "*")
        {
        }

        return observer;
    }

    private static async Task<(string Data, JsonElement Document)> NextHubEventAsync(SseReader observer)
    {
        while (true)
        {
            var next = (await observer.NextAsync())!.Value;
            if (next.EventType == "mercure")
            {
                return (next.Data, JsonDocument.Parse(next.Data).RootElement);
            }
        }
    }

    [Fact]
    public async Task Subscription_Events_reach_authorized_subscribers_as_event_mercure_and_no_one_else()
    {
        await using var hub = await StartAsync();
        var presence = hub.App.Services.GetRequiredService<Presence>();
        await using var observer = await ObserveAsync(hub);
        await using var outsider = await hub.SubscribeAsync("topic=*", TestHub.SubscriberToken("https://example.com/unrelated"));
        await TestHub.Eventually(() => presence.Subscriptions(legacy: true).Count() == 2, "the outsider to be registered");

        var entry = hub.Hub.Join([Selector.Exact(TopicA)], V1(TopicA, """{"n":1}"""), hub.HubUrl)!;
        var (_, joined) = await NextHubEventAsync(observer);
        hub.Hub.Leave(entry);
        var (_, left) = await NextHubEventAsync(observer);

        var topic = HubPath + "/subscriptions/exact/" + Uri.EscapeDataString(TopicA) + "/" + Uri.EscapeDataString(entry.Id);
        Assert.Equal(topic, joined.GetProperty("id").GetString());
        Assert.Equal("subscription", joined.GetProperty("type").GetString());
        Assert.Equal("exact", joined.GetProperty("match_type").GetString());
        Assert.Equal(TopicA, joined.GetProperty("match").GetString());
        Assert.Equal(entry.Id, joined.GetProperty("subscriber").GetString());
        Assert.True(joined.GetProperty("active").GetBoolean());
        Assert.Equal(1, joined.GetProperty("payload").GetProperty("n").GetInt32());
        Assert.Equal(topic, left.GetProperty("id").GetString());
        Assert.False(left.GetProperty("active").GetBoolean());

        // Private: the outsider's token grants nothing on the subscriptions path, so a public update is the first it gets.
        await hub.PublishAsync("https://example.com/marker", "marker");
        var first = (await outsider.NextAsync())!.Value;
        Assert.Equal("marker", first.Data);
    }

    /// <summary>Waits for the URL Pattern engine and for <c>match_urlpattern</c> on the subscribe endpoint (other helpers' work).</summary>
    [Fact]
    public async Task Subscription_Events_reach_a_subscriber_with_a_relative_url_pattern_over_the_subscriptions_path()
    {
        await using var hub = await StartAsync();
        var presence = hub.App.Services.GetRequiredService<Presence>();
        await using var observer = await hub.SubscribeAsync("match_urlpattern=" + Uri.EscapeDataString(HubPath + "/subscriptions/exact/:match/:subscriber"), TestHub.SubscriberToken());
        Assert.Equal(HttpStatusCode.OK, observer.Response.StatusCode);
        await TestHub.Eventually(() => presence.Subscriptions(type: MatcherType.UrlPattern).Any(), "the observer to be registered");

        var entry = hub.Hub.Join([Selector.Exact(TopicA)], null, hub.HubUrl)!;
        var (_, joined) = await NextHubEventAsync(observer);

        Assert.Equal(entry.Id, joined.GetProperty("subscriber").GetString());
        Assert.Equal(TopicA, joined.GetProperty("match").GetString());
    }

    [Fact]
    public async Task Subscription_API_a_single_subscription_is_the_event_document_with_the_cursor_on_Link()
    {
        await using var hub = await StartAsync();
        var presence = hub.App.Services.GetRequiredService<Presence>();
        await using var observer = await ObserveAsync(hub);
        var entry = hub.Hub.Join([Selector.Exact(TopicA)], V1(TopicA, """{"n":1}"""), hub.HubUrl)!;
        var (eventData, joined) = await NextHubEventAsync(observer);

        using var response = await GetAsync(hub, joined.GetProperty("id").GetString()!, TestHub.SubscriberToken());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(eventData, await response.Content.ReadAsStringAsync());
        var cursor = presence.Cursor;
        Assert.Equal(
            $"<{hub.HubUrl}>; rel=\"mercure\"; last-event-id=\"{cursor}\"; type=\"mercure\"; content-type=\"application/json\"",
            Assert.Single(response.Headers.GetValues("Link")));
        Assert.Equal("\"" + cursor + "\"", response.Headers.ETag?.Tag);
        Assert.True(response.Headers.CacheControl?.MustRevalidate);

        using var gone = await GetAsync(hub, SubscriptionDocument.Topic(HubPath, MatcherType.Exact, TopicA, "urn:uuid:00000000-0000-0000-0000-000000000000"), TestHub.SubscriberToken());
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
    }

    [Fact]
    public async Task Subscription_API_collections_list_the_1_0_subscriptions_of_a_matcher_or_all_of_them()
    {
        await using var hub = await StartAsync();
        var presence = hub.App.Services.GetRequiredService<Presence>();
        var first = hub.Hub.Join([Selector.Exact(TopicA), Selector.Exact("https://example.com/b")], null, hub.HubUrl)!;
        var second = hub.Hub.Join([Selector.Exact(TopicA), Selector.UrlPattern(TopicA)], null, hub.HubUrl)!;
        hub.Hub.Join([Selector.Topic("https://example.com/legacy")], null, hub.HubUrl);

        var byMatcher = HubPath + "/subscriptions/exact/" + Uri.EscapeDataString(TopicA);
        using var one = await GetAsync(hub, byMatcher, TestHub.SubscriberToken());
        var matcher = Json(await one.Content.ReadAsStringAsync());
        Assert.Equal("application/json", one.Content.Headers.ContentType?.MediaType);
        Assert.Equal(byMatcher, matcher.GetProperty("id").GetString());
        Assert.Equal("subscriptions", matcher.GetProperty("type").GetString());
        Assert.Equal(presence.Cursor, matcher.GetProperty("last_event_id").GetString());
        Assert.Equal(
            new[] { first.Id, second.Id }.Order(),
            matcher.GetProperty("subscriptions").EnumerateArray().Select(s => s.GetProperty("subscriber").GetString()).Order());
        Assert.All(matcher.GetProperty("subscriptions").EnumerateArray(), s => Assert.Equal("exact", s.GetProperty("match_type").GetString()));

        // The bare collection answers in the caller's generation: 1.0 to whoever asks for application/json by name.
        using var all = await GetAsync(hub, HubPath + "/subscriptions", TestHub.SubscriberToken(), r => r.Headers.Add("Accept", "application/json"));
        var everything = Json(await all.Content.ReadAsStringAsync());
        Assert.Equal("application/json", all.Content.Headers.ContentType?.MediaType);
        Assert.Equal(HubPath + "/subscriptions", everything.GetProperty("id").GetString());
        Assert.Equal("subscriptions", everything.GetProperty("type").GetString());
        Assert.Equal(4, everything.GetProperty("subscriptions").GetArrayLength());
        Assert.True(all.Headers.Contains("Link"));

        using var legacy = await GetAsync(hub, HubPath + "/subscriptions", TestHub.SubscriberToken());
        var legacyDocument = Json(await legacy.Content.ReadAsStringAsync());
        Assert.Equal("application/ld+json", legacy.Content.Headers.ContentType?.MediaType);
        Assert.Equal("Subscriptions", legacyDocument.GetProperty("type").GetString());
        Assert.Equal("https://example.com/legacy", Assert.Single(legacyDocument.GetProperty("subscriptions").EnumerateArray()).GetProperty("topic").GetString());
    }

    [Fact]
    public async Task Subscription_API_callers_need_a_subscribe_grant_on_the_resources_path_in_its_canonical_encoding()
    {
        await using var hub = await StartAsync();
        var mine = hub.Hub.Join([Selector.Exact(TopicA)], null, hub.HubUrl)!;
        var other = hub.Hub.Join([Selector.Exact(TopicA)], null, hub.HubUrl)!;
        var minePath = SubscriptionDocument.Topic(HubPath, MatcherType.Exact, TopicA, mine.Id);
        var token = TestHub.SubscriberToken(minePath);

        using var granted = await GetAsync(hub, minePath, token);
        using var spelledOtherwise = await GetAsync(hub, minePath.Replace("%3A", "%3a", StringComparison.Ordinal), token);
        using var notMine = await GetAsync(hub, SubscriptionDocument.Topic(HubPath, MatcherType.Exact, TopicA, other.Id), token);
        using var collection = await GetAsync(hub, SubscriptionDocument.Collection(HubPath, MatcherType.Exact, TopicA), token);
        using var anonymous = await GetAsync(hub, minePath, null);
        using var forged = await GetAsync(hub, minePath, "not.a.token");

        Assert.Equal(HttpStatusCode.OK, granted.StatusCode);
        Assert.Equal(HttpStatusCode.OK, spelledOtherwise.StatusCode);
        Assert.Equal(mine.Id, Json(await spelledOtherwise.Content.ReadAsStringAsync()).GetProperty("subscriber").GetString());
        foreach (var refused in new[] { notMine, collection })
        {
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
            Assert.Contains("error=\"insufficient_scope\"", refused.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        }

        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Contains("resource_metadata=", anonymous.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("error=", anonymous.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, forged.StatusCode);
        Assert.Contains("error=\"invalid_token\"", forged.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Subscription_API_exposes_Link_to_cross_origin_callers_and_answers_304_to_a_fresh_copy()
    {
        await using var hub = await StartAsync(new() { ["Herald:CorsOrigins:0"] = "https://app.example.com" });
        hub.Hub.Join([Selector.Exact(TopicA)], null, hub.HubUrl);
        var path = SubscriptionDocument.Collection(HubPath, MatcherType.Exact, TopicA);

        using var first = await GetAsync(hub, path, TestHub.SubscriberToken(), r => r.Headers.Add("Origin", "https://app.example.com"));
        using var again = await GetAsync(hub, path, TestHub.SubscriberToken(), r => r.Headers.TryAddWithoutValidation("If-None-Match", first.Headers.ETag!.ToString()));

        Assert.Equal("https://app.example.com", Assert.Single(first.Headers.GetValues("Access-Control-Allow-Origin")));
        Assert.Contains("Link", Assert.Single(first.Headers.GetValues("Access-Control-Expose-Headers")).Split(", "));
        Assert.Equal(HttpStatusCode.NotModified, again.StatusCode);
        Assert.Equal(first.Headers.GetValues("Link"), again.Headers.GetValues("Link"));
    }

    [Fact]
    public async Task Subscription_API_unknown_shapes_are_404_and_a_1_0_only_hub_serves_no_0_x_paths()
    {
        await using var hub = await StartAsync(new() { ["Herald:Protocol"] = "V1" });

        foreach (var path in new[]
        {
            HubPath + "/subscriptions/" + Uri.EscapeDataString(TopicA),
            HubPath + "/subscriptions/" + Uri.EscapeDataString(TopicA) + "/urn%3Auuid%3A1",
            HubPath + "/subscriptions/Exact/a/urn%3Auuid%3A1",
            HubPath + "/subscriptions/exact/a/urn%3Auuid%3A1/more",
            HubPath + "/subscriptions/exact//urn%3Auuid%3A1",
        })
        {
            using var response = await GetAsync(hub, path, null);
            Assert.True(response.StatusCode == HttpStatusCode.NotFound, $"{path}: {(int)response.StatusCode}");
        }
    }

    [Theory]
    [InlineData("", "All", null, null, null)]
    [InlineData("/", "All", null, null, null)]
    [InlineData("/exact/https%3A%2F%2Fexample.com%2Fa", "Matcher", "Exact", "https://example.com/a", null)]
    [InlineData("/urlpattern/%2Fbooks%2F%3Aid/urn%3Auuid%3A1", "Subscription", "UrlPattern", "/books/:id", "urn:uuid:1")]
    [InlineData("/https%3A%2F%2Fexample.com%2Fa", "LegacyTopic", "Topic", "https://example.com/a", null)]
    [InlineData("/https%3A%2F%2Fexample.com%2Fa/urn%3Auuid%3A1", "LegacySubscription", "Topic", "https://example.com/a", "urn:uuid:1")]
    [InlineData("/exact", "LegacyTopic", "Topic", "exact", null)]
    [InlineData("/Exact/a/urn%3Auuid%3A1", null, null, null, null)]
    [InlineData("/a/b/c/d", null, null, null, null)]
    [InlineData("/exact//b", null, null, null, null)]
    public void Subscription_API_paths_whose_first_segment_is_a_matcher_type_are_1_0_and_the_others_0_x(string rest, string? kind, string? type, string? match, string? subscriber)
    {
        var parsed = SubscriptionsResource.TryParse(rest, out var resource);

        Assert.Equal(kind is not null, parsed);
        if (parsed)
        {
            Assert.Equal(kind, resource.Kind.ToString());
            Assert.Equal(type, resource.Type?.ToString());
            Assert.Equal(match, resource.Match);
            Assert.Equal(subscriber, resource.Subscriber);
        }
    }

    [Fact]
    public async Task Active_Subscriptions_a_1_0_subscription_on_one_node_is_listed_with_its_payload_on_another()
    {
        var settings = new Dictionary<string, string?> { ["Herald:Transport"] = redis.Server.Url + "?prefix=presence-" + Guid.NewGuid().ToString("N") };
        await using var a = await StartAsync(settings);
        await using var b = await StartAsync(settings);

        var entry = a.Hub.Join([Selector.Exact(TopicA)], V1(TopicA, """{"n":7}"""), a.HubUrl)!;
        var presenceB = b.App.Services.GetRequiredService<Presence>();
        await TestHub.Eventually(() => presenceB.Subscriptions(subscriberId: entry.Id).Any(), "node B to list node A's subscriber");

        using var response = await GetAsync(b, SubscriptionDocument.Topic(HubPath, MatcherType.Exact, TopicA, entry.Id), TestHub.SubscriberToken());
        var document = Json(await response.Content.ReadAsStringAsync());
        Assert.Equal("exact", document.GetProperty("match_type").GetString());
        Assert.Equal(7, document.GetProperty("payload").GetProperty("n").GetInt32());

        a.Hub.Leave(entry);
        await TestHub.Eventually(() => !presenceB.Subscriptions(subscriberId: entry.Id).Any(), "node B to drop it");
    }
}
