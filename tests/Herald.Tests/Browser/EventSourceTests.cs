using System.Net;
using Herald.Tests.Infrastructure;

namespace Herald.Tests.Browser;

/// <summary>
/// A browser's plain EventSource against the hub, in Debian's headless Chromium: the collection's one browser, so
/// it never runs beside the demo page tests' Chromium, and in a context of its own that closes after the test.
/// </summary>
[Collection(DemoBrowserCollection.Name)]
public sealed class EventSourceTests(DemoBrowser chromium) : IAsyncLifetime
{
    public Task InitializeAsync() => chromium.ResetAsync();

    public Task DisposeAsync() => chromium.ResetAsync();

    [Fact]
    public async Task A_browser_EventSource_receives_an_update_its_uri_template_selector_matches()
    {
        await using var hub = await TestHub.StartAsync(new Dictionary<string, string?> { ["Herald:Anonymous"] = "true" });
        var page = await chromium.NewPageAsync();

        // Same origin as the hub, in a document that opens no stream of its own (the front page subscribes itself).
        await page.GotoAsync(hub.BaseUrl + "/favicon.svg");
        await page.EvaluateAsync(
            """
            (url) => {
              window.received = [];
              window.opened = false;
              const es = new EventSource(url);
              es.onopen = () => { window.opened = true; };
              es.addEventListener('book', e => window.received.push({ data: e.data, id: e.lastEventId }));
            }
            """,
            hub.HubUrl + "?topic=" + Uri.EscapeDataString("https://example.com/books/{id}"));
        await page.WaitForFunctionAsync("() => window.opened === true");
        await TestHub.Eventually(() => hub.Hub.SubscriberCount == 1, "the browser's subscription");

        // Both must be accepted, or "only the hit arrived" would hold because the miss was never published.
        using var miss = await hub.PostAsync([new("topic", "https://example.com/authors/1"), new("data", "not for the browser"), new("type", "book")]);
        Assert.Equal(HttpStatusCode.OK, miss.StatusCode);
        using var hit = await hub.PostAsync([new("topic", "https://example.com/books/42"), new("data", "{\"title\":\"Dune\"}"), new("type", "book"), new("id", "book-42")]);
        Assert.Equal(HttpStatusCode.OK, hit.StatusCode);

        // The miss was published first, on the same stream: had it been delivered, it would be here before the hit.
        await page.WaitForFunctionAsync("() => window.received.length >= 1");
        var data = await page.EvaluateAsync<string>("() => window.received[0].data");
        var id = await page.EvaluateAsync<string>("() => window.received[0].id");
        var count = await page.EvaluateAsync<int>("() => window.received.length");

        Assert.Equal("{\"title\":\"Dune\"}", data);
        Assert.Equal("book-42", id);
        Assert.Equal(1, count);
        Assert.Empty(chromium.Errors);
    }
}
