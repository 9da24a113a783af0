using Microsoft.Playwright;

namespace Herald.Tests.Infrastructure;

/// <summary>Debian's Chromium driven by Playwright (no browser download: the executable path is set).</summary>
internal static class Chromium
{
    public const string ExecutablePath = "/usr/bin/chromium";

    public static async Task<(IPlaywright Playwright, IBrowser Browser)> LaunchAsync()
    {
        Assert.True(File.Exists(ExecutablePath), $"{ExecutablePath} is missing: apt-get install -y chromium (.ci/run does it)");
        var playwright = await Playwright.CreateAsync();
        var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ExecutablePath,
            Headless = true,
            Args =
            [
                "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
            ],
        });
        return (playwright, browser);
    }

    /// <summary>Where tests leave screenshots for a person to look at (not committed).</summary>
    public static string OutputDirectory
    {
        get
        {
            var dir = Environment.GetEnvironmentVariable("HERALD_TEST_OUTPUT")
                ?? Path.Combine(AppContext.BaseDirectory, "test-output");
            Directory.CreateDirectory(dir);
            return dir;
        }
    }
}
