using Herald.Tests.Infrastructure;
using Microsoft.Playwright;

namespace Herald.Tests.Browser;

/// <summary>The front page and the live dashboard that <c>herald serve</c> shows at <c>/</c>, in Chromium.</summary>
[Collection(DemoBrowserCollection.Name)]
public sealed class DemoPageTests(DemoBrowser chromium) : IAsyncLifetime
{
    public Task InitializeAsync() => chromium.ResetAsync();

    public Task DisposeAsync() => chromium.ResetAsync();

    [Fact]
    public async Task The_front_page_links_the_demos_shows_this_hubs_curl_lines_and_receives_what_they_publish()
    {
        await using var hub = await TestHub.StartAsync(DemoSettings.Serve());
        var page = await chromium.NewPageAsync();

        await page.GotoAsync(hub.BaseUrl + "/");
        await page.Locator("#connection[data-state='open']").WaitForAsync();
        await TestHub.Eventually(() => hub.Hub.SubscriberCount == 1, "the front page's subscription");
        await hub.PublishAsync("https://example.com/hello", "Hello, Herald!");

        await page.Locator("#hello-feed .data", new() { HasText = "Hello, Herald!" }).WaitForAsync();
        Assert.Equal("/dashboard/", await page.Locator("#open-dashboard").GetAttributeAsync("href"));
        Assert.Equal("/chat/", await page.Locator("#open-chat").GetAttributeAsync("href"));
        Assert.Contains(hub.BaseUrl + "/.well-known/mercure?match=https://example.com/hello", await page.Locator("#cmd-subscribe").TextContentAsync(), StringComparison.Ordinal);
        Assert.Contains("-d topic=https://example.com/hello", await page.Locator("#cmd-publish").TextContentAsync(), StringComparison.Ordinal);
        Assert.Contains("TOKEN=", await page.Locator("#cmd-token").TextContentAsync(), StringComparison.Ordinal);
        await DemoBrowser.ScreenshotAsync(page, "demo-front");
        Assert.Empty(chromium.Errors);
    }

    [Fact]
    public async Task The_dashboard_shows_live_figures_that_change_and_a_test_update_comes_back()
    {
        await using var hub = await TestHub.StartAsync(DemoSettings.Serve());
        var page = await chromium.NewPageAsync();

        await page.GotoAsync(hub.BaseUrl + "/dashboard/");
        await page.WaitForFunctionAsync("() => Number(document.body.dataset.samples) >= 1", null);
        var first = await page.Locator("#figures").InnerTextAsync();
        var firstSample = int.Parse(await page.EvaluateAsync<string>("() => document.body.dataset.samples"), System.Globalization.CultureInfo.InvariantCulture);

        // A few seconds later (polling with a deadline): new samples, and figures that moved.
        await page.WaitForFunctionAsync(
            "([first, sample]) => Number(document.body.dataset.samples) >= sample + 2 && document.querySelector('#figures').innerText !== first",
            new object[] { first, firstSample },
            new() { PollingInterval = 250 });
        var second = await page.Locator("#figures").InnerTextAsync();
        Assert.NotEqual(first, second);
        Assert.Equal("open", await page.Locator("#connection").GetAttributeAsync("data-state"));
        Assert.Equal("1", await page.Locator("[data-figure='subscribers'] .value").TextContentAsync());

        await page.Locator("#publish-text").FillAsync("Hello from the dashboard test");
        await page.Locator("#publish-button").ClickAsync();
        await page.Locator("#arrivals .data", new() { HasText = "Hello from the dashboard test" }).WaitForAsync();
        await page.Locator("#arrivals .rtt", new() { HasTextRegex = new System.Text.RegularExpressions.Regex("round trip \\d+ ms") }).WaitForAsync();

        // Too long for the server's rule: refused with its reason, nothing published.
        await page.Locator("#publish-text").EvaluateAsync("(input, text) => { input.removeAttribute('maxlength'); input.value = text; }", new string('x', 201));
        await page.Locator("#publish-button").ClickAsync();
        await page.Locator("#publish-error", new() { HasText = "at most 200 characters" }).WaitForAsync();

        // Let the charts fill a little for the screenshot.
        await page.WaitForFunctionAsync("(n) => Number(document.body.dataset.samples) >= n", firstSample + 6);
        await DemoBrowser.ScreenshotAsync(page, "demo-dashboard");
        Assert.Empty(chromium.Errors);
    }

    [Fact]
    public async Task The_dashboard_comes_back_by_itself_after_the_hub_restarts_with_another_key()
    {
        // The page's address stays bound across the restart (a forwarder), rather than a port released and bound again.
        var hub = await TestHub.StartAsync(DemoSettings.Serve());
        await using var address = new LoopbackForwarder(new Uri(hub.BaseUrl).Port);
        var page = await chromium.NewPageAsync();
        await page.GotoAsync(address.BaseUrl + "/dashboard/");
        await page.WaitForFunctionAsync("() => Number(document.body.dataset.samples) >= 1", null);

        address.ForwardTo(0);
        await hub.DisposeAsync();
        await page.Locator("#connection:not([data-state='open'])").WaitForAsync();
        var before = await page.EvaluateAsync<int>("() => Number(document.body.dataset.samples)");

        // Same address, new key: the old token gets a 401, so the page must fetch a new one and subscribe again.
        await using var restarted = await TestHub.StartAsync(DemoSettings.Serve(new Dictionary<string, string?>
        {
            ["Herald:PublisherJwtKey"] = "another-key-0123456789-0123456789-0123",
            ["Herald:SubscriberJwtKey"] = "another-key-0123456789-0123456789-0123",
        }));
        address.ForwardTo(new Uri(restarted.BaseUrl).Port);
        await page.Locator("#connection[data-state='open']").WaitForAsync();
        await page.WaitForFunctionAsync("(n) => Number(document.body.dataset.samples) > n", before);
        Assert.Empty(chromium.Errors);
    }
}
