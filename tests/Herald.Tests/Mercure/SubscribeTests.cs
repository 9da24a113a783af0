using System.Net;
using Herald.Security;
using Herald.Tests.Infrastructure;

namespace Herald.Tests.Mercure;

/// <summary>GET /.well-known/mercure: selectors, authorization, private delivery and stream lifetime.</summary>
public sealed class SubscribeTests
{
    private static Task<TestHub> Start(bool anonymous = false, params (string Key, string Value)[] more)
    {
        var settings = new Dictionary<string, string?> { ["Herald:Anonymous"] = anonymous ? "true" : "false" };
        foreach (var (key, value) in more)
        {
            settings[key] = value;
        }

        return TestHub.StartAsync(settings);
    }

    private static string Q(params string[] topics) => string.Join('&', topics.Select(t => "topic=" + Uri.EscapeDataString(t)));

    [Fact]
    public async Task No_topic_is_400()
    {
        await using var hub = await Start(anonymous: true);
        using var response = await hub.Client.GetAsync(hub.HubUrl);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("missing topic", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task More_than_1000_topics_is_400()
    {
        await using var hub = await Start(anonymous: true);
        var query = Q(Enumerable.Range(0, 1001).Select(i => "https://example.com/topics/" + i).ToArray());

        using var response = await hub.Client.GetAsync(hub.HubUrl + "?" + query);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("too many", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_a_token_and_without_anonymous_it_is_401()
    {
        await using var hub = await Start();
        using var response = await hub.Client.GetAsync(hub.HubUrl + "?topic=t");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task An_invalid_token_is_401_even_when_anonymous_is_allowed()
    {
        await using var hub = await Start(anonymous: true);
        var request = new HttpRequestMessage(HttpMethod.Get, hub.HubUrl + "?topic=t");
        request.Headers.Authorization = new("Bearer", TokenIssuer.Create("wrong-key-wrong-key-wrong-key-wrong-key", null, ["*"], TimeSpan.FromHours(1)));

        using var response = await hub.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task The_stream_has_the_SSE_headers_and_the_update_fields()
    {
        await using var hub = await Start(anonymous: true);
        await using var reader = await hub.SubscribeAsync(Q("https://example.com/books/1"));
        await TestHub.Eventually(() => hub.Hub.SubscriberCount == 1, "subscriber");

        using var post = await hub.PostAsync([new("topic", "https://example.com/books/1"), new("data", "line1\nline2"), new("id", "e-1"), new("type", "book"), new("retry", "2500")]);
        var item = await reader.NextAsync();

        Assert.Equal("text/event-stream", reader.Response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("no-cache", reader.Response.Headers.CacheControl?.ToString());
        Assert.Equal("line1\nline2", item?.Data);
        Assert.Equal("e-1", item?.EventId);
        Assert.Equal("book", item?.EventType);
        Assert.Equal(TimeSpan.FromMilliseconds(2500), item?.ReconnectionInterval);
    }

    [Fact]
    public async Task Anonymous_subscribers_get_public_updates_only()
    {
        await using var hub = await Start(anonymous: true);
        await using var reader = await hub.SubscribeAsync(Q("https://example.com/a"));
        await TestHub.Eventually(() => hub.Hub.SubscriberCount == 1, "subscriber");

        await hub.PublishAsync("https://example.com/a", "secret", isPrivate: true);
        await hub.PublishAsync("https://example.com/a", "public");

        Assert.Equal("public", (await reader.NextAsync())?.Data);
    }

    [Fact]
    public async Task Private_updates_reach_only_subscribers_whose_claim_matches_a_topic_canonical_or_alternate()
    {
        await using var hub = await Start();
        await using var allowedCanonical = await hub.SubscribeAsync(Q("https://example.com/books/1"), TestHub.SubscriberToken("https://example.com/books/{id}"));
        await using var allowedAlternate = await hub.SubscribeAsync(Q("https://example.com/books/1"), TestHub.SubscriberToken("https://example.com/users/dunglas/books"));
        await using var denied = await hub.SubscribeAsync(Q("https://example.com/books/1"), TestHub.SubscriberToken("https://example.com/other"));
        await TestHub.Eventually(() => hub.Hub.SubscriberCount == 3, "subscribers");

        using var post = await hub.PostAsync([new("topic", "https://example.com/books/1"), new("topic", "https://example.com/users/dunglas/books"), new("data", "private"), new("private", "on")]);
        await hub.PublishAsync("https://example.com/books/1", "public");

        Assert.Equal("private", (await allowedCanonical.NextAsync())?.Data);
        Assert.Equal("private", (await allowedAlternate.NextAsync())?.Data);
        Assert.Equal("public", (await denied.NextAsync())?.Data);
    }

    [Fact]
    public async Task Subscribers_sharing_a_template_claim_are_each_judged_by_the_update_at_hand()
    {
        // The template behind a shared claim runs once per private update (a memo keyed by the dispatch): the
        // answer must hold for every subscriber of that update and never leak into the next one.
        await using var hub = await Start();
        var claim = TestHub.SubscriberToken("https://example.com/books/{id}");
        await using var first = await hub.SubscribeAsync(Q("*"), claim);
        await using var second = await hub.SubscribeAsync(Q("*"), claim);
        await using var other = await hub.SubscribeAsync(Q("*"), TestHub.SubscriberToken("https://example.com/authors/{id}"));
        await TestHub.Eventually(() => hub.Hub.SubscriberCount == 3, "subscribers");

        await hub.PublishAsync("https://example.com/books/1", "book", isPrivate: true);
        await hub.PublishAsync("https://example.com/authors/1", "author", isPrivate: true);
        await hub.PublishAsync("https://example.com/books/2", "public");

        Assert.Equal("book", (await first.NextAsync())?.Data);
        Assert.Equal("public", (await first.NextAsync())?.Data);
        Assert.Equal("book", (await second.NextAsync())?.Data);
        Assert.Equal("public", (await second.NextAsync())?.Data);
        Assert.Equal("author", (await other.NextAsync())?.Data);
        Assert.Equal("public", (await other.NextAsync())?.Data);
    }

    [Fact]
    public async Task An_update_reaches_a_subscriber_of_one_of_its_alternate_topics_once()
    {
        await using var hub = await Start(anonymous: true);
        await using var reader = await hub.SubscribeAsync(Q("https://example.com/alt", "https://example.com/canonical"));
        await TestHub.Eventually(() => hub.Hub.SubscriberCount == 1, "subscriber");

        using var post = await hub.PostAsync([new("topic", "https://example.com/canonical"), new("topic", "https://example.com/alt"), new("data", "once")]);
        await hub.PublishAsync("https://example.com/alt", "next");

        Assert.Equal("once", (await reader.NextAsync())?.Data);
        Assert.Equal("next", (await reader.NextAsync())?.Data);
    }

    [Theory]
    [InlineData("https://example.com/books/{id}", "https://example.com/books/42", true)]
    [InlineData("https://example.com/books/{id}", "https://example.com/books/42/reviews", false)]
    [InlineData("https://example.com/books/{id}", "https://example.com/authors/42", false)]
    [InlineData("https://example.com/{+path}", "https://example.com/a/b/c", true)]
    [InlineData("https://example.com/books{?page}", "https://example.com/books?page=2", true)]
    [InlineData("*", "urn:anything", true)]
    [InlineData("https://example.com/exact", "https://example.com/exact", true)]
    [InlineData("https://example.com/exact", "https://example.com/exact2", false)]
    public async Task Selectors_match_as_Mercure_says(string selector, string topic, bool matches)
    {
        await using var hub = await Start(anonymous: true);
        await using var reader = await hub.SubscribeAsync(Q(selector, "urn:marker"));
        await TestHub.Eventually(() => hub.Hub.SubscriberCount == 1, "subscriber");

        await hub.PublishAsync(topic, "candidate");
        await hub.PublishAsync("urn:marker", "marker");

        var first = await reader.NextAsync();
        Assert.Equal(matches ? "candidate" : "marker", first?.Data);
    }

    [Fact]
    public async Task The_token_is_also_read_from_the_query_and_the_cookie()
    {
        await using var hub = await Start();
        using var viaQuery = await hub.Client.GetAsync(hub.HubUrl + "?topic=t&authorization=" + TestHub.SubscriberToken(), HttpCompletionOption.ResponseHeadersRead);
        var cookieRequest = new HttpRequestMessage(HttpMethod.Get, hub.HubUrl + "?topic=t");
        cookieRequest.Headers.Add("Cookie", "mercureAuthorization=" + TestHub.SubscriberToken());
        using var viaCookie = await hub.Client.SendAsync(cookieRequest, HttpCompletionOption.ResponseHeadersRead);

        Assert.Equal(HttpStatusCode.OK, viaQuery.StatusCode);
        Assert.Equal(HttpStatusCode.OK, viaCookie.StatusCode);
    }

    [Fact]
    public async Task The_stream_is_closed_when_the_token_expires()
    {
        // The hub's clock is skipped past the expiry rather than waited for: no window for a slow machine to miss.
        var clock = new SkippingClock();
        await using var hub = await TestHub.StartAsync(new Dictionary<string, string?> { ["Herald:Anonymous"] = "false" }, clock);
        var token = TokenIssuer.Create(TestHub.Key, null, ["*"], TimeSpan.FromMinutes(10));
        await using var reader = await hub.SubscribeAsync("topic=t", token);
        Assert.Equal(HttpStatusCode.OK, reader.Response.StatusCode);
        await TestHub.Eventually(() => hub.Hub.SubscriberCount == 1, "subscriber");

        // Open and delivering before the expiry...
        await hub.PublishAsync("t", "before the expiry");
        Assert.Equal("before the expiry", (await reader.NextAsync())?.Data);

        // ...and ended by the hub once it is past.
        clock.Skip(TimeSpan.FromMinutes(11));
        Assert.True(await reader.EndsWithinAsync(30_000), "the stream should end once the token expires");
        await TestHub.Eventually(() => hub.Hub.SubscriberCount == 0, "the subscriber removed");
    }

    [Fact]
    public async Task A_write_timeout_recycles_the_stream()
    {
        var clock = new SkippingClock();
        await using var hub = await TestHub.StartAsync(new Dictionary<string, string?> { ["Herald:Anonymous"] = "true", ["Herald:WriteTimeout"] = "00:10:00" }, clock);
        await using var reader = await hub.SubscribeAsync("topic=t");
        Assert.Equal(HttpStatusCode.OK, reader.Response.StatusCode);
        await TestHub.Eventually(() => hub.Hub.SubscriberCount == 1, "subscriber");
        await hub.PublishAsync("t", "before the timeout");
        Assert.Equal("before the timeout", (await reader.NextAsync())?.Data);

        clock.Skip(TimeSpan.FromMinutes(11));

        Assert.True(await reader.EndsWithinAsync(30_000), "the stream should be recycled");
        await TestHub.Eventually(() => hub.Hub.SubscriberCount == 0, "the subscriber removed");
    }

    [Fact]
    public async Task Heartbeats_keep_an_idle_hub_stream_alive()
    {
        await using var hub = await Start(anonymous: true, ("Herald:Heartbeat", "00:00:00.200"));
        using var response = await hub.Client.GetAsync(hub.HubUrl + "?topic=t", HttpCompletionOption.ResponseHeadersRead);
        await using var body = await response.Content.ReadAsStreamAsync();
        var buffer = new byte[64];
        var colons = 0;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (colons < 3)
        {
            var n = await body.ReadAsync(buffer, timeout.Token);
            Assert.NotEqual(0, n);
            colons += buffer.AsSpan(0, n).Count((byte)':');
        }
    }
}
