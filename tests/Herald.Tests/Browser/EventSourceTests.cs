using Herald.Tests.Infrastructure;

namespace Herald.Tests.Browser;

/// <summary>A browser's plain EventSource against the hub, in Debian's headless Chromium.</summary>
public sealed class EventSourceTests
{
    [Fact]
    public async Task A_browser_EventSource_receives_an_update_its_uri_template_selector_matches()
    {
        await using var hub = await TestHub.StartAsync(new Dictionary<string, string?> { ["Herald:Anonymous"] = "true" });
        var (playwright, browser) = await Chromium.LaunchAsync();
        using var _ = playwright;
        await using var __ = browser;
        var page = await browser.NewPageAsync();

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
        await page.WaitForFunctionAsync("() => window.opened === true", null, new() { Timeout = 10_000 });
        await TestHub.Eventually(() => hub.Hub.SubscriberCount == 1, "the browser's subscription");

        using var miss = await hub.PostAsync([new("topic", "https://example.com/authors/1"), new("data", "not for the browser"), new("type", "book")]);
        using var hit = await hub.PostAsync([new("topic", "https://example.com/books/42"), new("data", "{\"title\":\"Dune\"}"), new("type", "book"), new("id", "book-42")]);

        await page.WaitForFunctionAsync("() => window.received.length >= 1", null, new() { Timeout = 10_000 });
        var data = await page.EvaluateAsync<string>("() => window.received[0].data");
        var id = await page.EvaluateAsync<string>("() => window.received[0].id");
        var count = await page.EvaluateAsync<int>("() => window.received.length");

        Assert.Equal("{\"title\":\"Dune\"}", data);
        Assert.Equal("book-42", id);
        Assert.Equal(1, count);
    }
}
