using System.Net;
using System.Text.Json;
using Herald.Tests.Infrastructure;

namespace Herald.Tests.Mercure;

public sealed class CorsAndPresenceTests
{
    [Fact]
    public async Task A_preflight_from_an_allowed_origin_is_answered_with_credentials_and_headers()
    {
        await using var hub = await TestHub.StartAsync(new Dictionary<string, string?> { ["Herald:CorsOrigins:0"] = "https://app.example.com" });
        var request = new HttpRequestMessage(HttpMethod.Options, hub.HubUrl + "?topic=t");
        request.Headers.Add("Origin", "https://app.example.com");
        request.Headers.Add("Access-Control-Request-Method", "GET");
        request.Headers.Add("Access-Control-Request-Headers", "authorization, last-event-id");

        using var response = await hub.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal("https://app.example.com", response.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.Equal("true", response.Headers.GetValues("Access-Control-Allow-Credentials").Single());
        var allowed = response.Headers.GetValues("Access-Control-Allow-Headers").Single();
        Assert.Contains("authorization", allowed, StringComparison.Ordinal);
        Assert.Contains("cache-control", allowed, StringComparison.Ordinal);
        Assert.Contains("last-event-id", allowed, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_preflight_from_another_origin_is_refused()
    {
        await using var hub = await TestHub.StartAsync(new Dictionary<string, string?> { ["Herald:CorsOrigins:0"] = "https://app.example.com" });
        var request = new HttpRequestMessage(HttpMethod.Options, hub.HubUrl);
        request.Headers.Add("Origin", "https://evil.example.com");
        request.Headers.Add("Access-Control-Request-Method", "GET");

        using var response = await hub.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.False(response.Headers.Contains("Access-Control-Allow-Origin"));
    }

    [Fact]
    public async Task A_cookie_publish_needs_an_allowed_origin()
    {
        await using var hub = await TestHub.StartAsync(new Dictionary<string, string?> { ["Herald:PublishOrigins:0"] = "https://app.example.com" });
        async Task<HttpStatusCode> PostWithCookie(string origin)
        {
            var request = new HttpRequestMessage(HttpMethod.Post, hub.HubUrl) { Content = new FormUrlEncodedContent([new("topic", "t")]) };
            request.Headers.Add("Cookie", "mercureAuthorization=" + TestHub.PublisherToken());
            request.Headers.Add("Origin", origin);
            using var response = await hub.Client.SendAsync(request);
            return response.StatusCode;
        }

        Assert.Equal(HttpStatusCode.OK, await PostWithCookie("https://app.example.com"));
        Assert.Equal(HttpStatusCode.Unauthorized, await PostWithCookie("https://evil.example.com"));
    }

    [Fact]
    public async Task Subscribing_and_leaving_publish_subscription_events_and_the_api_lists_active_ones()
    {
        await using var hub = await TestHub.StartAsync(new Dictionary<string, string?> { ["Herald:Subscriptions"] = "true" });
        var observerToken = TestHub.SubscriberToken("/.well-known/mercure/subscriptions{/topic}{/subscriber}");
        await using var observer = await hub.SubscribeAsync("topic=" + Uri.EscapeDataString("/.well-known/mercure/subscriptions{/topic}{/subscriber}"), observerToken);
        var joinerToken = Herald.Security.TokenIssuer.Create(TestHub.Key, null, ["https://example.com/room/1"], TimeSpan.FromHours(1), JsonDocument.Parse("{\"name\":\"ada\"}").RootElement);

        var joiner = await hub.SubscribeAsync("topic=" + Uri.EscapeDataString("https://example.com/room/1"), joinerToken);

        // The observer's own subscription is announced too (it matches its selector); skip to the joiner's.
        async Task<JsonElement> NextAbout(string topic)
        {
            while (true)
            {
                var e = JsonDocument.Parse((await observer.NextAsync())!.Value.Data).RootElement;
                if (e.GetProperty("topic").GetString() == topic)
                {
                    return e;
                }
            }
        }

        var joined = await NextAbout("https://example.com/room/1");

        Assert.Equal("https://mercure.rocks/", joined.GetProperty("@context").GetString());
        Assert.Equal("Subscription", joined.GetProperty("type").GetString());
        Assert.Equal("https://example.com/room/1", joined.GetProperty("topic").GetString());
        Assert.True(joined.GetProperty("active").GetBoolean());
        Assert.Equal("ada", joined.GetProperty("payload").GetProperty("name").GetString());
        var subscriberId = joined.GetProperty("subscriber").GetString()!;
        Assert.StartsWith("urn:uuid:", subscriberId, StringComparison.Ordinal);
        Assert.Equal($"/.well-known/mercure/subscriptions/{Uri.EscapeDataString("https://example.com/room/1")}/{Uri.EscapeDataString(subscriberId)}", joined.GetProperty("id").GetString());

        // The collection, one topic's collection and one subscription, with an ETag.
        var apiRequest = new HttpRequestMessage(HttpMethod.Get, hub.BaseUrl + "/.well-known/mercure/subscriptions");
        apiRequest.Headers.Authorization = new("Bearer", observerToken);
        using var all = await hub.Client.SendAsync(apiRequest);
        Assert.Equal(HttpStatusCode.OK, all.StatusCode);
        Assert.Equal("application/ld+json", all.Content.Headers.ContentType?.MediaType);
        var collection = JsonDocument.Parse(await all.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("Subscriptions", collection.GetProperty("type").GetString());
        var topics = collection.GetProperty("subscriptions").EnumerateArray().Select(s => s.GetProperty("topic").GetString()).ToList();
        Assert.Contains("https://example.com/room/1", topics);
        Assert.Equal(collection.GetProperty("lastEventID").GetString(), all.Headers.ETag?.Tag.Trim('"'));

        var notModified = new HttpRequestMessage(HttpMethod.Get, hub.BaseUrl + "/.well-known/mercure/subscriptions");
        notModified.Headers.Authorization = new("Bearer", observerToken);
        notModified.Headers.TryAddWithoutValidation("If-None-Match", all.Headers.ETag!.ToString());
        using var cached = await hub.Client.SendAsync(notModified);
        Assert.Equal(HttpStatusCode.NotModified, cached.StatusCode);

        var oneRequest = new HttpRequestMessage(HttpMethod.Get, hub.BaseUrl + joined.GetProperty("id").GetString());
        oneRequest.Headers.Authorization = new("Bearer", observerToken);
        using var one = await hub.Client.SendAsync(oneRequest);
        var item = JsonDocument.Parse(await one.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(subscriberId, item.GetProperty("subscriber").GetString());

        var topicRequest = new HttpRequestMessage(HttpMethod.Get, hub.BaseUrl + "/.well-known/mercure/subscriptions/" + Uri.EscapeDataString("https://example.com/room/1"));
        topicRequest.Headers.Authorization = new("Bearer", observerToken);
        using var byTopic = await hub.Client.SendAsync(topicRequest);
        Assert.Single(JsonDocument.Parse(await byTopic.Content.ReadAsStringAsync()).RootElement.GetProperty("subscriptions").EnumerateArray());

        // Leaving publishes active=false and the subscription disappears from the API.
        await joiner.DisposeAsync();
        var left = await NextAbout("https://example.com/room/1");
        Assert.False(left.GetProperty("active").GetBoolean());
        Assert.Equal(subscriberId, left.GetProperty("subscriber").GetString());
    }

    [Fact]
    public async Task The_subscriptions_api_needs_a_matching_subscribe_claim()
    {
        await using var hub = await TestHub.StartAsync(new Dictionary<string, string?> { ["Herald:Subscriptions"] = "true" });
        var request = new HttpRequestMessage(HttpMethod.Get, hub.BaseUrl + "/.well-known/mercure/subscriptions");
        request.Headers.Authorization = new("Bearer", TestHub.SubscriberToken("https://example.com/other"));

        using var response = await hub.Client.SendAsync(request);
        using var anonymous = await hub.Client.GetAsync(hub.BaseUrl + "/.well-known/mercure/subscriptions");

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
    }
}
