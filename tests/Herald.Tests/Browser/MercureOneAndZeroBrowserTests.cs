using System.Net;
using Herald.Tests.Infrastructure;

namespace Herald.Tests.Browser;

/// <summary>
/// Issue #15's "done when", end to end: one default <c>herald serve --anonymous --jwt-key K --issuer https://localhost
/// --resource-identifier https://localhost/.well-known/mercure</c> (a real process) serves Chromium's EventSource through
/// Mercure 1.0 matchers (<c>match</c>, <c>match_urlpattern</c>) and the 0.x <c>topic</c> selector at once, to updates
/// published with a 1.0 access token and with a 0.x token.
/// </summary>
[Collection(DemoBrowserCollection.Name)]
public sealed class MercureOneAndZeroBrowserTests(DemoBrowser chromium) : IAsyncLifetime
{
    private const string Issuer = "https://localhost";
    private const string ResourceIdentifier = "https://localhost/.well-known/mercure";
    private const string Book1 = "https://example.com/books/1";
    private const string Book2 = "https://example.com/books/2";

    public Task InitializeAsync() => chromium.ResetAsync();

    public Task DisposeAsync() => chromium.ResetAsync();

    [Fact]
    public async Task Subscription_match_urlpattern_and_topic_streams_of_one_hub_receive_what_1_0_and_0_x_tokens_publish_and_no_private_update()
    {
        var dataDir = Path.Combine(Path.GetTempPath(), "herald-tests", Guid.NewGuid().ToString("N"));
        await using var hub = await HubProcess.StartAsync(
            dataDir, "--anonymous", "--issuer", Issuer, "--resource-identifier", ResourceIdentifier);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var v1Token = AccessTokens.Hs256(TestHub.Key, Issuer, ResourceIdentifier, ["publish"], ("*", "exact"));
        var legacyToken = TestHub.PublisherToken();

        // A same-origin document; its policy allows no connection, so this context bypasses it for the test's script.
        var page = await chromium.NewPageAsync(bypassCsp: true);
        await page.GotoAsync(hub.BaseUrl + "/");
        await page.EvaluateAsync(
            """
            (streams) => {
              window.received = {};
              window.opened = {};
              window.warm = {};
              for (const [name, query] of Object.entries(streams)) {
                window.received[name] = [];
                const source = new EventSource('/.well-known/mercure?' + query);
                source.onopen = () => { window.opened[name] = true; };
                source.onmessage = e => {
                  if (e.data === 'warm-up') {
                    window.warm[name] = true;
                  } else {
                    window.received[name].push({ data: e.data, id: e.lastEventId });
                  }
                };
              }
            }
            """,
            new Dictionary<string, string>
            {
                ["match"] = "match=" + Uri.EscapeDataString(Book1),
                ["urlpattern"] = "match_urlpattern=" + Uri.EscapeDataString("https://example.com/books/:id"),
                ["topic"] = "topic=" + Uri.EscapeDataString("https://example.com/books/{id}"),
            });
        await page.WaitForFunctionAsync("() => ['match', 'urlpattern', 'topic'].every(n => window.opened[n])");

        // Opened is not yet registered: publish warm-ups (kept apart by the page) until every stream has had one.
        var deadline = Environment.TickCount64 + 30_000;
        var warmups = 0;
        while (!await page.EvaluateAsync<bool>("() => ['match', 'urlpattern', 'topic'].every(n => window.warm[n])"))
        {
            Assert.True(Environment.TickCount64 < deadline, "the three streams did not all receive a warm-up update within 30 s");
            using var warmup = await PublishAsync(http, hub, v1Token, Book1, "warm-up", $"warm-up-{warmups++}");
            Assert.Equal(HttpStatusCode.OK, warmup.StatusCode);
            await page.WaitForTimeoutAsync(200);
        }

        // A private update first: anonymous streams must never see it, and the public ones after it prove the order.
        using (var secret = await PublishAsync(http, hub, v1Token, Book1, "private", "private-1", isPrivate: true))
        {
            Assert.Equal(HttpStatusCode.OK, secret.StatusCode);
        }

        // The hub answers 200 with the update's id as text/plain; charset=utf-8: the custom one, for both generations.
        using var v1 = await PublishAsync(http, hub, v1Token, Book1, "from a 1.0 token", "urn:example:book-1-v1");
        using var legacy = await PublishAsync(http, hub, legacyToken, Book2, "from a 0.x token", "urn:example:book-2-legacy");
        foreach (var (response, id) in new[] { (v1, "urn:example:book-1-v1"), (legacy, "urn:example:book-2-legacy") })
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("text/plain; charset=utf-8", response.Content.Headers.ContentType?.ToString());
            Assert.Equal(id, (await response.Content.ReadAsStringAsync()).TrimEnd('\n'));
        }

        await page.WaitForFunctionAsync(
            "() => window.received.match.length >= 1 && window.received.urlpattern.length >= 2 && window.received.topic.length >= 2");
        var match = await ReceivedAsync(page, "match");
        var urlPattern = await ReceivedAsync(page, "urlpattern");
        var topic = await ReceivedAsync(page, "topic");

        Assert.Equal([("from a 1.0 token", "urn:example:book-1-v1")], match);
        Assert.Equal([("from a 1.0 token", "urn:example:book-1-v1"), ("from a 0.x token", "urn:example:book-2-legacy")], urlPattern);
        Assert.Equal([("from a 1.0 token", "urn:example:book-1-v1"), ("from a 0.x token", "urn:example:book-2-legacy")], topic);
        Assert.Empty(chromium.Errors);
    }

    private static Task<HttpResponseMessage> PublishAsync(HttpClient http, HubProcess hub, string token, string topic, string data, string id, bool isPrivate = false)
    {
        var form = new List<KeyValuePair<string, string>> { new("topic", topic), new("data", data), new("id", id) };
        if (isPrivate)
        {
            form.Add(new("private", "on"));
        }

        var request = new HttpRequestMessage(HttpMethod.Post, hub.HubUrl) { Content = new FormUrlEncodedContent(form) };
        request.Headers.Authorization = new("Bearer", token);
        return http.SendAsync(request);
    }

    private static async Task<List<(string Data, string Id)>> ReceivedAsync(Microsoft.Playwright.IPage page, string stream)
    {
        var messages = await page.EvaluateAsync<Message[]>("(n) => window.received[n]", stream);
        return [.. messages.Select(m => (m.Data, m.Id))];
    }

    /// <summary>One received event; Playwright fills it through a parameterless constructor and setters.</summary>
    private sealed class Message
    {
        public string Data { get; set; } = string.Empty;

        public string Id { get; set; } = string.Empty;
    }
}
