using Herald.Tests.Infrastructure;
using Microsoft.Playwright;

namespace Herald.Tests.Browser;

/// <summary>
/// The demo pages speaking Mercure 1.0 (<c>Demos:Protocol=1</c>): <c>match</c> and <c>match_urlpattern</c>
/// subscriptions, a 1.0 access token in the cookie <c>Herald:CookieName</c> names, 1.0 presence events and routes.
/// </summary>
[Collection(DemoBrowserCollection.Name)]
public sealed class DemoMercureOneTests(DemoBrowser chromium) : IAsyncLifetime
{
    private static readonly Dictionary<string, string?> MercureOne = new()
    {
        ["Herald:Subscriptions"] = "true",
        ["Demos:Protocol"] = "1",
        ["Herald:CookieName"] = "mercure_access_token",
        ["Herald:Issuer"] = "https://herald.local/demo",
    };

    public Task InitializeAsync() => chromium.ResetAsync();

    public Task DisposeAsync() => chromium.ResetAsync();

    [Fact]
    public async Task Presenting_the_Access_Token_two_people_in_a_1_0_chat_room_see_each_other_online_messages_and_history_with_the_token_in_a_cookie()
    {
        await using var hub = await TestHub.StartAsync(MercureOne);
        var alice = await JoinAsync(hub, "ada", "one");
        await SendAsync(alice, "Before Grace came.");
        var bob = await JoinAsync(hub, "grace", "one");

        // History (last_event_id=earliest), presence (match_urlpattern, event: mercure, the 1.0 subscriptions API).
        await bob.Locator(".message .text", new() { HasText = "Before Grace came." }).WaitForAsync();
        foreach (var page in new[] { alice, bob })
        {
            await page.Locator("#online li[data-nickname='ada']").WaitForAsync();
            await page.Locator("#online li[data-nickname='grace']").WaitForAsync();
        }

        await SendAsync(bob, "Hi Ada, over 1.0.");
        await alice.Locator(".message .text", new() { HasText = "Hi Ada, over 1.0." }).WaitForAsync();

        var cookies = await alice.Context.CookiesAsync();
        var cookie = Assert.Single(cookies, c => c.Name == "mercure_access_token");
        Assert.True(cookie.HttpOnly);
        Assert.Equal("/.well-known/mercure", cookie.Path);
        Assert.Equal(SameSiteAttribute.Strict, cookie.SameSite);
        Assert.DoesNotContain(cookies, c => c.Name == "mercureAuthorization");
        Assert.Empty(chromium.Errors);
    }

    [Fact]
    public async Task Subscription_the_1_0_dashboard_receives_the_hubs_figures_and_its_own_test_update()
    {
        await using var hub = await TestHub.StartAsync(MercureOne);
        var page = await chromium.NewPageAsync();

        await page.GotoAsync(hub.BaseUrl + "/dashboard/");
        await page.WaitForFunctionAsync("() => Number(document.body.dataset.samples) >= 2", null);
        await page.Locator("#publish-text").FillAsync("Hello over match=");
        await page.Locator("#publish-button").ClickAsync();

        await page.Locator("#arrivals .data", new() { HasText = "Hello over match=" }).WaitForAsync();
        Assert.Equal("open", await page.Locator("#connection").GetAttributeAsync("data-state"));
        Assert.Empty(chromium.Errors);
    }

    private async Task<IPage> JoinAsync(TestHub hub, string nickname, string room)
    {
        var page = await chromium.NewPageAsync(1280, 800);
        await page.GotoAsync($"{hub.BaseUrl}/chat/?room={room}");
        await page.Locator("#nickname").FillAsync(nickname);
        await page.Locator("#join").ClickAsync();
        await page.Locator("#connection[data-state='open']").WaitForAsync();
        await page.Locator($"#online li[data-nickname='{nickname}']").WaitForAsync();
        return page;
    }

    private static async Task SendAsync(IPage sender, string text)
    {
        await sender.Locator("#text").FillAsync(text);
        await sender.Locator("#text").PressAsync("Enter");
        await sender.Locator(".message.mine .text", new() { HasText = text }).WaitForAsync();
    }
}
