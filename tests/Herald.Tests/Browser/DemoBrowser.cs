using Herald.Tests.Infrastructure;
using Microsoft.Playwright;

namespace Herald.Tests.Browser;

/// <summary>
/// One Chromium for all the demo page tests, which run one after another (a collection): they assert on how fast
/// a message arrives, and on a small shared machine parallel browsers would measure each other.
/// </summary>
public sealed class DemoBrowser : IAsyncLifetime
{
    private IPlaywright? _playwright;

    public IBrowser Browser { get; private set; } = null!;

    public async Task InitializeAsync() => (_playwright, Browser) = await Chromium.LaunchAsync().WaitAsync(TimeSpan.FromSeconds(60));

    /// <summary>A fresh browser context (its own cookies and storage: another person) with a desktop-sized page.</summary>
    public async Task<IPage> NewPageAsync(int width = 1440, int height = 900)
    {
        var context = await Browser.NewContextAsync(new() { ViewportSize = new() { Width = width, Height = height }, ColorScheme = ColorScheme.Light });
        context.SetDefaultTimeout(15_000);
        var page = await context.NewPageAsync();
        page.PageError += (_, error) => Errors.Add(error);
        return page;
    }

    /// <summary>Uncaught errors of any page (a demo page should have none).</summary>
    public List<string> Errors { get; } = [];

    /// <summary>Saves a screenshot for a person to look at (not committed).</summary>
    public static async Task ScreenshotAsync(IPage page, string name)
    {
        // From the top, as a person lands on it (a focused input may have scrolled the page).
        await page.EvaluateAsync("() => window.scrollTo(0, 0)");
        await page.ScreenshotAsync(new() { Path = Path.Combine(Chromium.OutputDirectory, name + ".png"), FullPage = true });
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.DisposeAsync();
        }

        _playwright?.Dispose();
    }
}

[CollectionDefinition(Name)]
public sealed class DemoBrowserCollection : ICollectionFixture<DemoBrowser>
{
    public const string Name = "Demo pages in Chromium";
}
