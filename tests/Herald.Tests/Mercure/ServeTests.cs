using System.Net;
using Herald.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Herald.Tests.Mercure;

/// <summary><c>herald serve</c> for a newcomer, and the same hub mounted in someone else's app.</summary>
public sealed class ServeTests
{
    [Fact]
    public async Task Without_a_key_serve_generates_one_readable_by_its_owner_only_and_writes_a_working_token_to_a_file_only_its_owner_reads()
    {
        var dataDir = Path.Combine(Path.GetTempPath(), "herald-tests", Guid.NewGuid().ToString("N"));
        string token;
        await using (var hub = await HubProcess.StartAsync(dataDir, withKey: false))
        {
            var keyFile = Path.Combine(dataDir, "jwt.key");
            Assert.True(File.Exists(keyFile));
            var (tokenFile, fromFile) = await hub.StartupTokenAsync();
            token = fromFile;
            Assert.Equal(Path.Combine(dataDir, "token"), tokenFile);
            if (!OperatingSystem.IsWindows())
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(keyFile));
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(tokenFile));
            }

            // Only where it is goes to the log: not the token, nor the key.
            Assert.DoesNotContain(hub.Output, line => line.Contains(token, StringComparison.Ordinal) || line.Contains(File.ReadAllText(keyFile), StringComparison.Ordinal));

            using var client = new HttpClient();
            using var request = new HttpRequestMessage(HttpMethod.Post, hub.HubUrl) { Content = new FormUrlEncodedContent([new("topic", "https://example.com/hello"), new("data", "hi")]) };
            request.Headers.Authorization = new("Bearer", token);
            using var response = await client.SendAsync(request).WaitAsync(TimeSpan.FromSeconds(10));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);

            using var page = await client.GetAsync(hub.BaseUrl + "/").WaitAsync(TimeSpan.FromSeconds(10));
            Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
            Assert.Contains("Herald", await page.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            await hub.KillAsync();
            var stderr = await hub.StandardErrorAsync();
            Assert.DoesNotContain(token, stderr, StringComparison.Ordinal);
        }

        // The key is generated once: a restart on the same data directory accepts the same token.
        await using var again = await HubProcess.StartAsync(dataDir, withKey: false);
        using var client2 = new HttpClient();
        using var request2 = new HttpRequestMessage(HttpMethod.Post, again.HubUrl) { Content = new FormUrlEncodedContent([new("topic", "https://example.com/hello")]) };
        request2.Headers.Authorization = new("Bearer", token);
        using var response2 = await client2.SendAsync(request2).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(HttpStatusCode.OK, response2.StatusCode);
    }

    [Fact]
    public async Task Environment_variables_set_the_same_keys_as_flags()
    {
        var dataDir = Path.Combine(Path.GetTempPath(), "herald-tests", Guid.NewGuid().ToString("N"));
        await using var anonymous = await HubProcess.StartAsync(dataDir, withKey: true, new Dictionary<string, string> { ["Herald__Anonymous"] = "true" });
        await using var closed = await HubProcess.StartAsync(dataDir + "-closed", withKey: true);
        using var client = new HttpClient();

        using var allowed = await client.GetAsync(anonymous.HubUrl + "?topic=t", HttpCompletionOption.ResponseHeadersRead).WaitAsync(TimeSpan.FromSeconds(10));
        using var refused = await client.GetAsync(closed.HubUrl + "?topic=t", HttpCompletionOption.ResponseHeadersRead).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
    }

    [Fact]
    public async Task AddHerald_and_MapHerald_mount_the_hub_in_any_app_and_app_code_publishes_without_http()
    {
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Services.AddHerald(o =>
        {
            o.PublisherJwtKey = TestHub.Key;
            o.SubscriberJwtKey = TestHub.Key;
            o.Anonymous = true;
        });
        var app = builder.Build();
        app.MapHerald();
        app.MapPost("/orders/{id}/ship", async (string id, IHeraldPublisher publisher) =>
            await publisher.PublishAsync(new Update { Topics = [$"https://shop.example.com/orders/{id}"], Data = "shipped" }));
        await app.StartAsync().WaitAsync(TimeSpan.FromSeconds(30));
        await using var _ = app;
        var baseUrl = Herald.Cli.HubServer.Addresses(app).First().TrimEnd('/');
        using var client = new HttpClient { BaseAddress = new Uri(baseUrl) };

        using var stream = await client.GetAsync("/.well-known/mercure?topic=" + Uri.EscapeDataString("https://shop.example.com/orders/{id}"), HttpCompletionOption.ResponseHeadersRead);
        await using var reader = await SseReader.OpenAsync(stream);
        await TestHub.Eventually(() => app.Services.GetRequiredService<Herald.Mercure.MercureHub>().SubscriberCount == 1, "the subscription");
        using var shipped = await client.PostAsync("/orders/42/ship", null);
        var id = await shipped.Content.ReadAsStringAsync();

        var item = await reader.NextAsync();
        Assert.Equal("shipped", item?.Data);
        Assert.Equal(id.Trim('"'), item?.EventId);
    }

    [Fact]
    public async Task A_shutdown_drain_that_is_not_a_duration_is_refused_in_one_line()
    {
        var dataDir = Path.Combine(Path.GetTempPath(), "herald-tests", Guid.NewGuid().ToString("N"));
        var (exitCode, stderr) = await HubProcess.FailToStartAsync(dataDir, "--shutdown-drain", "soon");
        Assert.Equal(2, exitCode);
        Assert.Equal("herald: --shutdown-drain 'soon' is not a duration; use e.g. 15s, 500ms, 10m or 1h", stderr.Trim());
    }
}
