using System.Net;
using System.Text.RegularExpressions;
using Herald.Tests.Infrastructure;

namespace Herald.Tests.Browser;

/// <summary>The debug page over plain HTTP: there only with <c>--ui</c>, beside the demos, and holding no secret.</summary>
public sealed partial class DebugUiHttpTests
{
    private const string UiPath = "/.well-known/mercure/ui/";

    [Fact]
    public async Task Herald_serve_with_ui_serves_the_page_beside_the_demos_under_its_policy_and_no_asset_holds_the_key_or_a_token()
    {
        var dataDir = Path.Combine(Path.GetTempPath(), "herald-tests", Guid.NewGuid().ToString("N"));
        await using var hub = await HubProcess.StartAsync(dataDir, "--ui", "--demo");
        using var http = new HttpClient { BaseAddress = new Uri(hub.BaseUrl), Timeout = TimeSpan.FromSeconds(30) };
        Assert.Contains(hub.Output, line => line.Contains($"debug page at {hub.BaseUrl}{UiPath}", StringComparison.Ordinal));

        using var page = await http.GetAsync(UiPath);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html; charset=utf-8", page.Content.Headers.ContentType?.ToString());
        var policy = string.Join(", ", page.Headers.GetValues("Content-Security-Policy"));
        Assert.Contains("default-src 'self'", policy, StringComparison.Ordinal);
        Assert.Contains("connect-src 'self'", policy, StringComparison.Ordinal);
        Assert.Contains("script-src 'self'", policy, StringComparison.Ordinal);
        Assert.DoesNotContain("unsafe-inline", policy, StringComparison.Ordinal);
        Assert.Equal("nosniff", string.Join(",", page.Headers.GetValues("X-Content-Type-Options")));

        // The demos are still at /, and the page's files are nowhere else (not in their wwwroot).
        using (var demos = await http.GetAsync("/"))
        {
            Assert.Equal(HttpStatusCode.OK, demos.StatusCode);
        }

        using (var outside = await http.GetAsync("/ui/debug-ui.js"))
        {
            Assert.Equal(HttpStatusCode.NotFound, outside.StatusCode);
        }

        // Every file the page loads: served under the same policy, with no inline script, and no secret in it.
        var html = await page.Content.ReadAsStringAsync();
        Assert.DoesNotMatch(InlineScript(), html);
        var assets = AssetReference().Matches(html).Select(m => m.Groups[1].Value).ToList();
        Assert.Contains("debug-ui.js", assets);
        Assert.Contains("debug-ui.css", assets);
        var bodies = new List<string> { html };
        foreach (var asset in assets)
        {
            using var response = await http.GetAsync(UiPath + asset);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("nosniff", string.Join(",", response.Headers.GetValues("X-Content-Type-Options")));
            Assert.Contains("default-src 'self'", string.Join(", ", response.Headers.GetValues("Content-Security-Policy")), StringComparison.Ordinal);
            bodies.Add(await response.Content.ReadAsStringAsync());
        }

        foreach (var body in bodies)
        {
            Assert.DoesNotContain(TestHub.Key, body, StringComparison.Ordinal);

            // No JWT either (every JWT starts with a base64url '{"'), and no storage a token could be left in.
            Assert.DoesNotContain("eyJ", body, StringComparison.Ordinal);
            Assert.DoesNotContain("localStorage", body, StringComparison.Ordinal);
            Assert.DoesNotContain("sessionStorage", body, StringComparison.Ordinal);
            Assert.DoesNotContain("document.cookie", body, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Without_ui_the_page_and_its_files_answer_404_even_with_the_demos_on()
    {
        // TestHub turns the demos on, as herald serve --demo does; Ui:Enabled is left unset (the default).
        await using var hub = await TestHub.StartAsync();
        foreach (var path in new[] { UiPath, UiPath.TrimEnd('/'), UiPath + "index.html", UiPath + "debug-ui.js", "/ui/index.html" })
        {
            using var response = await hub.Client.GetAsync(path);
            Assert.True(response.StatusCode == HttpStatusCode.NotFound, $"{path}: {(int)response.StatusCode}");
        }
    }

    [Fact]
    public async Task With_ui_the_page_serves_only_its_own_files()
    {
        await using var hub = await TestHub.StartAsync(new Dictionary<string, string?> { ["Ui:Enabled"] = "true" });
        foreach (var path in new[] { UiPath + "nope.js", UiPath + "..%2Fjwt.key", UiPath + "a/b", UiPath + "DebugUi.cs" })
        {
            using var response = await hub.Client.GetAsync(path);
            Assert.True(response.StatusCode == HttpStatusCode.NotFound, $"{path}: {(int)response.StatusCode}");
        }

        using var noRedirects = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = new Uri(hub.BaseUrl) };
        using var redirect = await noRedirects.GetAsync(UiPath.TrimEnd('/')).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(HttpStatusCode.Redirect, redirect.StatusCode);
        Assert.Equal("ui/", redirect.Headers.Location?.OriginalString);
    }

    [GeneratedRegex("""<script(?![^>]*\bsrc=)[^>]*>""", RegexOptions.IgnoreCase)]
    private static partial Regex InlineScript();

    [GeneratedRegex(@"(?:src|href)=""([^""]+)""", RegexOptions.IgnoreCase)]
    private static partial Regex AssetReference();
}
