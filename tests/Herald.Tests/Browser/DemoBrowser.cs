using System.Collections.Concurrent;
using Herald.Tests.Infrastructure;
using Microsoft.Playwright;

namespace Herald.Tests.Browser;

/// <summary>
/// One Chromium for every browser test, which run one after another (a collection): on a small shared machine
/// parallel browsers starve each other and the hubs they talk to. Each test starts with no page open and no error
/// recorded (<see cref="ResetAsync"/>), so nothing one test left behind can fail or slow down the next.
/// </summary>
public sealed class DemoBrowser : IAsyncLifetime
{
    /// <summary>How long any single browser wait may take: it only runs out when the test is failing anyway.</summary>
    public const int WaitMs = 30_000;

    private readonly List<IBrowserContext> _contexts = [];
    private readonly ConcurrentQueue<string> _errors = new();
    private IPlaywright? _playwright;

    public IBrowser Browser { get; private set; } = null!;

    /// <summary>Uncaught errors of the pages the current test opened (a demo page should have none).</summary>
    public IReadOnlyCollection<string> Errors => _errors.ToArray();

    public async Task InitializeAsync() => (_playwright, Browser) = await Chromium.LaunchAsync().WaitAsync(TimeSpan.FromSeconds(60));

    /// <summary>
    /// A fresh browser context (its own cookies and storage: another person) with a desktop-sized page. With
    /// <paramref name="bypassCsp"/> a test's own script may open streams from a hub page whose policy allows none.
    /// </summary>
    public async Task<IPage> NewPageAsync(int width = 1440, int height = 900, bool bypassCsp = false)
    {
        var context = await Browser.NewContextAsync(new()
        {
            ViewportSize = new() { Width = width, Height = height },
            ColorScheme = ColorScheme.Light,
            BypassCSP = bypassCsp,
        });
        lock (_contexts)
        {
            _contexts.Add(context);
        }

        context.SetDefaultTimeout(WaitMs);
        var page = await context.NewPageAsync();
        page.PageError += (_, error) => _errors.Enqueue(error);
        return page;
    }

    /// <summary>
    /// Closes every context opened since the last reset (their streams end with them) and forgets their errors.
    /// The browser tests call it before and after each test.
    /// </summary>
    public async Task ResetAsync()
    {
        IBrowserContext[] open;
        lock (_contexts)
        {
            open = [.. _contexts];
            _contexts.Clear();
        }

        foreach (var context in open)
        {
            await context.CloseAsync().WaitAsync(TimeSpan.FromMilliseconds(WaitMs));
        }

        _errors.Clear();
    }

    /// <summary>Saves a screenshot for a person to look at (not committed).</summary>
    public static async Task ScreenshotAsync(IPage page, string name)
    {
        // From the top, as a person lands on it (a focused input may have scrolled the page).
        await page.EvaluateAsync("() => window.scrollTo(0, 0)");
        await page.ScreenshotAsync(new() { Path = Path.Combine(Chromium.OutputDirectory, name + ".png"), FullPage = true });
    }

    public async Task DisposeAsync()
    {
        await ResetAsync();
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
