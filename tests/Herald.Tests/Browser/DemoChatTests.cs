using Herald.Tests.Infrastructure;
using Microsoft.Playwright;

namespace Herald.Tests.Browser;

/// <summary>
/// The chat demo in Chromium: browser contexts are different people in the same room. Every wait is for something
/// to show, with the browser's 30 s deadline; none measures how fast it showed.
/// </summary>
[Collection(DemoBrowserCollection.Name)]
public sealed class DemoChatTests(DemoBrowser chromium) : IAsyncLifetime
{
    /// <summary>As <c>herald serve --demo</c> runs the chat: presence on, the pages speaking Mercure 1.0 (the default).</summary>
    private static readonly Dictionary<string, string?> WithPresence = DemoSettings.Serve();

    public Task InitializeAsync() => chromium.ResetAsync();

    public Task DisposeAsync() => chromium.ResetAsync();

    /// <remarks>Also with the pages speaking Mercure 0.x (<c>Demos:Protocol=0</c>), which a Compatible hub still serves.</remarks>
    [Theory]
    [InlineData("1")]
    [InlineData("0")]
    public async Task Two_people_in_a_room_see_each_other_online_and_each_message_reaches_the_other(string protocol)
    {
        await using var hub = await TestHub.StartAsync(DemoSettings.Serve(new Dictionary<string, string?> { ["Demos:Protocol"] = protocol }));
        var alice = await JoinAsync(hub, "ada", "lobby", screenshotJoin: protocol == "1");
        var bob = await JoinAsync(hub, "grace", "lobby");

        foreach (var page in new[] { alice, bob })
        {
            await page.Locator("#online li[data-nickname='ada']").WaitForAsync();
            await page.Locator("#online li[data-nickname='grace']").WaitForAsync();
        }

        await SendAsync(alice, "Hello Grace, the hub is up.", bob);
        await SendAsync(bob, "Hi Ada!\nTwo lines, even.", alice);
        await alice.Locator(".message.mine .text", new() { HasText = "Hello Grace" }).WaitForAsync();

        Assert.Equal(2, await bob.Locator("#online li").CountAsync());
        if (protocol == "1")
        {
            await DemoBrowser.ScreenshotAsync(alice, "demo-chat-ada");
            await DemoBrowser.ScreenshotAsync(bob, "demo-chat-grace");
        }

        Assert.Empty(chromium.Errors);
    }

    [Fact]
    public async Task A_message_with_markup_shows_as_text_and_runs_nothing()
    {
        await using var hub = await TestHub.StartAsync(WithPresence);
        var alice = await JoinAsync(hub, "mallory", "xss");
        var bob = await JoinAsync(hub, "bob", "xss");
        const string Attack = "<script>window.pwned = 1</script><img src=x onerror=\"window.pwned = 2\"> <b>bold?</b>";

        await SendAsync(alice, Attack, bob);

        foreach (var page in new[] { alice, bob })
        {
            var text = page.Locator(".message .text").Last;
            await text.WaitForAsync();
            Assert.Equal(Attack, await text.TextContentAsync());
            Assert.True(await text.IsVisibleAsync());
            Assert.Equal(0, await page.Locator("#messages img, #messages script, #messages b").CountAsync());
            Assert.True(await page.EvaluateAsync<bool>("() => typeof window.pwned === 'undefined'"), "the markup ran");
        }

        await DemoBrowser.ScreenshotAsync(bob, "demo-chat-markup");

        Assert.Empty(chromium.Errors);
    }

    [Fact]
    public async Task Someone_joining_later_sees_the_rooms_earlier_messages()
    {
        // Needs the hub's history (lastEventID=earliest): lands with the storage integration.
        await using var hub = await TestHub.StartAsync(WithPresence);
        var alice = await JoinAsync(hub, "ada", "history");
        await SendAsync(alice, "First, before anyone else came.");
        await SendAsync(alice, "Second, still alone.");

        var late = await JoinAsync(hub, "linus", "history");

        await late.Locator(".message .text", new() { HasText = "First, before anyone else came." }).WaitForAsync();
        await late.Locator(".message .text", new() { HasText = "Second, still alone." }).WaitForAsync();
        var texts = await late.Locator(".message .text").AllTextContentsAsync();
        Assert.Equal(["First, before anyone else came.", "Second, still alone."], texts.Take(2));
        Assert.Empty(chromium.Errors);
    }

    [Fact]
    public async Task After_the_hub_restarts_with_another_key_the_room_comes_back_by_itself()
    {
        // The pages' address stays bound across the restart (a forwarder), rather than a port released and bound again.
        var hub = await TestHub.StartAsync(WithPresence);
        await using var address = new LoopbackForwarder(new Uri(hub.BaseUrl).Port);
        var alice = await JoinAsync(address.BaseUrl, "ada", "restart");
        var bob = await JoinAsync(address.BaseUrl, "grace", "restart");
        await alice.Locator("#online li[data-nickname='grace']").WaitForAsync();

        address.ForwardTo(0);
        await hub.DisposeAsync();
        await alice.Locator("#connection:not([data-state='open'])").WaitForAsync();
        await using var restarted = await TestHub.StartAsync(new Dictionary<string, string?>(WithPresence)
        {
            ["Herald:PublisherJwtKey"] = "another-key-0123456789-0123456789-0123",
            ["Herald:SubscriberJwtKey"] = "another-key-0123456789-0123456789-0123",
        });
        address.ForwardTo(new Uri(restarted.BaseUrl).Port);

        foreach (var page in new[] { alice, bob })
        {
            await page.Locator("#connection[data-state='open']").WaitForAsync();
            await page.Locator("#online li[data-nickname='ada']").WaitForAsync();
            await page.Locator("#online li[data-nickname='grace']").WaitForAsync();
        }

        await SendAsync(bob, "Back already?", alice);
        Assert.Empty(chromium.Errors);
    }

    /// <summary>A new person (browser context) opens the chat, picks a nickname and joins the room.</summary>
    private Task<IPage> JoinAsync(TestHub hub, string nickname, string room, bool screenshotJoin = false) => JoinAsync(hub.BaseUrl, nickname, room, screenshotJoin);

    private async Task<IPage> JoinAsync(string baseUrl, string nickname, string room, bool screenshotJoin = false)
    {
        var page = await chromium.NewPageAsync(1280, 800);
        await page.GotoAsync($"{baseUrl}/chat/?room={room}");
        await page.Locator("#nickname").FillAsync(nickname);
        if (screenshotJoin)
        {
            await DemoBrowser.ScreenshotAsync(page, "demo-chat-join");
        }

        await page.Locator("#join").ClickAsync();
        await page.Locator("#connection[data-state='open']").WaitForAsync();
        await page.Locator($"#online li[data-nickname='{nickname}']").WaitForAsync();
        return page;
    }

    /// <summary>Types and sends a message; waits until it shows on the sender's page and, when given, the reader's.</summary>
    private static async Task SendAsync(IPage sender, string text, IPage? reader = null)
    {
        var before = await sender.Locator(".message").CountAsync();
        await sender.Locator("#text").FillAsync(text);
        await sender.Locator("#text").PressAsync("Enter");
        await sender.WaitForFunctionAsync("(n) => document.querySelectorAll('.message').length > n", before);
        if (reader is not null)
        {
            await reader.Locator(".message .text").Filter(new() { HasText = text.Split('\n')[0] }).WaitForAsync();
        }
    }
}
