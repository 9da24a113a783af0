using Herald.Tests.Infrastructure;
using Microsoft.Playwright;

namespace Herald.Tests.Browser;

/// <summary>
/// The debug page (<c>herald serve --ui</c>) in Chromium against a real hub: it does what a pasted token allows, shows
/// what the hub sends and answers, and lists the subscriptions when the hub has presence on.
/// </summary>
[Collection(DemoBrowserCollection.Name)]
public sealed class DebugUiBrowserTests(DemoBrowser chromium) : IAsyncLifetime
{
    private const string Issuer = "https://issuer.example";
    private const string UiPath = "/.well-known/mercure/ui";

    public Task InitializeAsync() => chromium.ResetAsync();

    public Task DisposeAsync() => chromium.ResetAsync();

    [Fact]
    public async Task With_pasted_tokens_the_page_subscribes_by_url_pattern_publishes_sees_the_update_lists_its_subscription_and_shows_a_401_reason()
    {
        // The demos stay on beside it (with presence, as --demo has it): the page must not clash with them at /.
        await using var hub = await TestHub.StartAsync(DemoSettings.Serve(new Dictionary<string, string?>
        {
            ["Ui:Enabled"] = "true",
            ["Herald:Issuer"] = Issuer,
        }));
        var subscriber = AccessTokens.Hs256(TestHub.Key, Issuer, hub.HubUrl, ["subscribe"], ("*", "exact"));
        var publisher = AccessTokens.Hs256(TestHub.Key, Issuer, hub.HubUrl, ["publish"], ("*", "exact"));
        var page = await chromium.NewPageAsync();

        // Opened without its trailing slash, as people type it: redirected to the page, which carries its policy.
        var response = await page.GotoAsync(hub.BaseUrl + UiPath);
        Assert.NotNull(response);
        Assert.Equal(200, response.Status);
        Assert.EndsWith(UiPath + "/", response.Url, StringComparison.Ordinal);
        var headers = await response.AllHeadersAsync();
        Assert.Contains("default-src 'self'", headers["content-security-policy"], StringComparison.Ordinal);
        Assert.Contains("connect-src 'self'", headers["content-security-policy"], StringComparison.Ordinal);
        Assert.Equal("nosniff", headers["x-content-type-options"]);
        await page.Locator("body[data-ready='true']").WaitForAsync();
        Assert.Equal(hub.HubUrl, await page.Locator("#hub-url").TextContentAsync());

        // The demos' cookie on this origin lends the page nothing: with no token pasted the hub sees no token at all.
        Assert.Equal(200, await page.EvaluateAsync<int>("() => fetch('/demo/session', { method: 'POST' }).then(r => r.status)"));
        Assert.Contains(await page.Context.CookiesAsync(), cookie => cookie.Name == "mercure_access_token");
        await page.Locator("#matchers .matcher-value").FillAsync("https://example.com/hello");
        await page.Locator("#subscribe").ClickAsync();
        await page.Locator("#sub-state[data-state='error']").WaitForAsync();
        Assert.StartsWith("401", await page.Locator("#sub-error").TextContentAsync(), StringComparison.Ordinal);

        await page.Locator("#sub-token").FillAsync(subscriber);

        // What the token says about itself, read in the page (the hub still decides): generation, audience, expiry.
        var info = await page.Locator("#sub-token-info").TextContentAsync();
        Assert.Contains("Mercure 1.0 token", info, StringComparison.Ordinal);
        Assert.Contains("aud " + hub.HubUrl, info, StringComparison.Ordinal);
        Assert.Contains("expires in", info, StringComparison.Ordinal);
        await page.Locator("#matchers .matcher-type").SelectOptionAsync("match_urlpattern");
        await page.Locator("#matchers .matcher-value").FillAsync("https://example.com/books/:id");
        await page.Locator("#subscribe").ClickAsync();
        await page.Locator("#sub-state[data-state='open']").WaitForAsync();

        // Headers in is not yet registered: wait until the hub counts the page's stream before publishing.
        await TestHub.Eventually(() => hub.Hub.SubscriberCount == 1, "the page's subscription");

        await page.Locator("#pub-token").FillAsync(publisher);
        await page.Locator("#pub-topics").FillAsync("https://example.com/books/1");
        await page.Locator("#pub-data").FillAsync("Hello from the debug page");
        await page.Locator("#pub-id").FillAsync("urn:example:debug-1");
        await page.Locator("#pub-type").FillAsync("book");
        await page.Locator("#pub-retry").FillAsync("2500");
        await page.Locator("#publish").ClickAsync();
        await page.Locator("#pub-result[data-outcome='ok']", new() { HasText = "urn:example:debug-1" }).WaitForAsync();

        var update = page.Locator("#updates .update", new() { HasText = "Hello from the debug page" });
        await update.WaitForAsync();
        Assert.Equal("urn:example:debug-1", await update.Locator(".id").TextContentAsync());
        Assert.Equal("book", await update.Locator(".type").TextContentAsync());
        Assert.Equal("retry 2500 ms", await update.Locator(".retry").TextContentAsync());
        Assert.Equal("urn:example:debug-1", await page.Locator("#last-event-id").InputValueAsync());

        // Presence is on: the subscriptions API lists the page's own subscription.
        await page.Locator("#subs-refresh").ClickAsync();
        await page.Locator("#subs-list tr", new() { HasText = "urlpattern: https://example.com/books/:id" }).WaitForAsync();
        await DemoBrowser.ScreenshotAsync(page, "debug-ui");

        // A token signed with another key: the page shows the hub's own 401 reason, as the hub gives it to anyone.
        var forged = AccessTokens.Hs256("another-key-0123456789-0123456789-0123", Issuer, hub.HubUrl, ["subscribe"], ("*", "exact"));
        var reason = await RefusalReasonAsync(hub, forged);
        await page.Locator("#unsubscribe").ClickAsync();
        await page.Locator("#sub-token").FillAsync(forged);
        await page.Locator("#subscribe").ClickAsync();
        await page.Locator("#sub-state[data-state='error']").WaitForAsync();
        var shown = await page.Locator("#sub-error").TextContentAsync();
        Assert.StartsWith("401", shown, StringComparison.Ordinal);
        Assert.Contains(reason, shown, StringComparison.Ordinal);

        // Publishing with it is refused with its reason too, and nothing is published.
        var published = hub.Hub.Metrics.Published;
        await page.Locator("#pub-token").FillAsync(forged);
        await page.Locator("#publish").ClickAsync();
        await page.Locator("#pub-result[data-outcome='error']", new() { HasText = "401" }).WaitForAsync();
        Assert.Equal(published, hub.Hub.Metrics.Published);
        Assert.Empty(chromium.Errors);
    }

    [Fact]
    public async Task Anonymously_a_topic_selector_replays_from_Last_Event_ID_and_without_presence_the_list_says_it_is_off()
    {
        await using var hub = await TestHub.StartAsync(new Dictionary<string, string?>
        {
            ["Ui:Enabled"] = "true",
            ["Demos:Enabled"] = "false",
            ["Herald:Anonymous"] = "true",
        });
        var first = (await hub.PublishAsync("https://example.com/notes/1", "first note")).Trim();
        await hub.PublishAsync("https://example.com/notes/2", "second note");
        await hub.PublishAsync("https://example.com/notes/3", "a private note", isPrivate: true);
        var page = await chromium.NewPageAsync();
        await page.GotoAsync(hub.BaseUrl + UiPath + "/");
        await page.Locator("body[data-ready='true']").WaitForAsync();

        // No token, a 0.x URI template, and a Last-Event-ID: the hub replays what came after it (public updates only).
        await page.Locator("#matchers .matcher-type").SelectOptionAsync("topic");
        await page.Locator("#matchers .matcher-value").FillAsync("https://example.com/notes/{id}");
        await page.Locator("#last-event-id").FillAsync(first);
        await page.Locator("#subscribe").ClickAsync();
        await page.Locator("#updates .update .data", new() { HasText = "second note" }).WaitForAsync();
        await TestHub.Eventually(() => hub.Hub.SubscriberCount == 1, "the page's subscription");
        await hub.PublishAsync("https://example.com/notes/4", "fourth note");
        await page.Locator("#updates .update .data", new() { HasText = "fourth note" }).WaitForAsync();
        Assert.Equal(["fourth note", "second note"], await page.Locator("#updates .update .data").AllTextContentsAsync());

        await page.Locator("#subs-refresh").ClickAsync();
        var message = page.Locator("#subs-message[data-outcome='error']");
        await message.WaitForAsync();
        Assert.Contains("Presence is off", await message.TextContentAsync(), StringComparison.Ordinal);
        Assert.Contains("404", await message.TextContentAsync(), StringComparison.Ordinal);
        Assert.True(await page.Locator("#subs-table").IsHiddenAsync());
        Assert.Empty(chromium.Errors);
    }

    /// <summary>The first line of the hub's answer to a subscription with <paramref name="token"/>, as any client reads it.</summary>
    private static async Task<string> RefusalReasonAsync(TestHub hub, string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, hub.HubUrl + "?match=" + Uri.EscapeDataString("https://example.com/books/1"));
        request.Headers.Authorization = new("Bearer", token);
        using var response = await hub.Client.SendAsync(request).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, response.StatusCode);
        var reason = (await response.Content.ReadAsStringAsync()).Split('\n')[0].Trim();
        Assert.NotEmpty(reason);
        return reason;
    }
}
