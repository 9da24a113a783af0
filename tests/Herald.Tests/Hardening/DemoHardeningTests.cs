using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using Herald.Cli.Demos;
using Herald.Tests.Browser;
using Herald.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Herald.Tests.Hardening;

/// <summary>
/// The demos publish into history on a visitor's behalf without a token: they run only when asked for, check the
/// room exactly, post only under the nickname a join handed out, and limit how fast one client may publish.
/// </summary>
public sealed class DemoHardeningTests
{
    [Fact]
    public async Task A_plain_serve_has_no_demo_endpoints_pages_or_figures_and_its_front_page_says_how_to_get_them()
    {
        await using var hub = await HubProcess.StartWithDefaultsAsync(NewDirectory());
        using var client = new HttpClient { BaseAddress = new Uri(hub.BaseUrl), Timeout = TimeSpan.FromSeconds(30) };

        foreach (var path in new[] { "/demo/session", "/demo/dashboard/updates", "/demo/chat/lobby/join", "/demo/chat/lobby/messages" })
        {
            using var response = await client.PostAsJsonAsync(path, new { nickname = "ada", text = "hi" });
            Assert.True(response.StatusCode == HttpStatusCode.NotFound, $"{path}: {(int)response.StatusCode}");
        }

        foreach (var path in new[] { "/chat/", "/dashboard/", "/assets/live.js", "/index.html" })
        {
            using var response = await client.GetAsync(path);
            Assert.True(response.StatusCode == HttpStatusCode.NotFound, $"{path}: {(int)response.StatusCode}");
        }

        using var front = await client.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, front.StatusCode);
        Assert.Equal("text/html", front.Content.Headers.ContentType?.MediaType);
        var page = await front.Content.ReadAsStringAsync();
        Assert.Contains("herald serve --demo", page, StringComparison.Ordinal);
        Assert.Contains("/.well-known/mercure", page, StringComparison.Ordinal);

        var hubLine = hub.Output.Single(line => line.StartsWith("herald: hub at ", StringComparison.Ordinal));
        Assert.DoesNotContain("demos", hubLine, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_with_demo_serves_the_pages_and_endpoints()
    {
        await using var hub = await HubProcess.StartWithDefaultsAsync(NewDirectory(), "--demo");
        using var client = new HttpClient { BaseAddress = new Uri(hub.BaseUrl), Timeout = TimeSpan.FromSeconds(30) };

        using var session = await client.PostAsync("/demo/session", null);
        using var chat = await client.GetAsync("/chat/");

        Assert.Equal(HttpStatusCode.OK, session.StatusCode);
        Assert.Equal(HttpStatusCode.OK, chat.StatusCode);
        Assert.Contains(hub.Output, line => line.StartsWith("herald: hub at ", StringComparison.Ordinal) && line.Contains("(demos at ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Without_the_demos_no_figures_publisher_runs_in_the_hub()
    {
        await using var hub = await TestHub.StartAsync(new Dictionary<string, string?> { [DemoEndpoints.EnabledKey] = null });

        Assert.DoesNotContain(hub.App.Services.GetServices<IHostedService>(), service => service is HubFiguresPublisher);
        using var join = await hub.Client.PostAsJsonAsync("/demo/chat/lobby/join", new { nickname = "ada" });
        Assert.Equal(HttpStatusCode.NotFound, join.StatusCode);
    }

    [Theory]
    [InlineData("abc%0A")]
    [InlineData("abc%0D%0A")]
    [InlineData("%0Aabc")]
    public async Task A_room_name_with_a_line_end_is_refused(string room)
    {
        await using var hub = await TestHub.StartAsync(DemoSettings.Serve());
        using var join = await hub.Client.PostAsJsonAsync($"/demo/chat/{room}/join", new { nickname = "ada" });
        Assert.Equal(HttpStatusCode.BadRequest, join.StatusCode);

        var pass = await DemoEndpointTests.JoinAsync(hub, "abc", "ada");
        using var message = await DemoEndpointTests.PostMessageAsync(hub, room, JsonContent.Create(new { nickname = "ada", text = "hi" }), pass);

        Assert.Equal(HttpStatusCode.BadRequest, message.StatusCode);
        Assert.Contains("a room name has", await message.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(0, hub.Hub.Metrics.Published);
    }

    [Fact]
    public async Task A_message_is_published_only_under_the_nickname_its_join_handed_out()
    {
        await using var hub = await TestHub.StartAsync(new Dictionary<string, string?> { ["Herald:Anonymous"] = "true" });
        await using var room = await hub.SubscribeAsync("topic=" + Uri.EscapeDataString("https://herald.local/demo/chat/lobby"));
        using var withoutPass = await Post(hub, null, new { nickname = "ada", text = "hi" });
        Assert.Equal(HttpStatusCode.Unauthorized, withoutPass.StatusCode);

        var ada = await DemoEndpointTests.JoinAsync(hub, "lobby", "ada");
        var elsewhere = await DemoEndpointTests.JoinAsync(hub, "other", "eve");
        using var asSomeoneElse = await Post(hub, ada, new { nickname = "eve", text = "I am eve" });
        using var otherRoomsPass = await Post(hub, elsewhere, new { nickname = "eve", text = "hi" });
        using var forgedPass = await Post(hub, Forge(ada), new { nickname = "eve", text = "hi" });
        using var hubToken = await Post(hub, TestHub.PublisherToken(), new { nickname = "ada", text = "hi" });
        using var asAda = await Post(hub, ada, new { nickname = "ada", text = "from ada" });

        Assert.Equal(HttpStatusCode.Forbidden, asSomeoneElse.StatusCode);
        Assert.Contains("nickname", await asSomeoneElse.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        foreach (var refused in new[] { withoutPass, otherRoomsPass, forgedPass, hubToken })
        {
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
            Assert.Single((await refused.Content.ReadAsStringAsync()).TrimEnd('\n').Split('\n'));
        }

        Assert.Equal(HttpStatusCode.OK, asAda.StatusCode);
        var published = await room.NextAsync();
        Assert.Equal("from ada", JsonDocument.Parse(published!.Value.Data).RootElement.GetProperty("text").GetString());
        Assert.Equal("ada", JsonDocument.Parse(published.Value.Data).RootElement.GetProperty("nickname").GetString());
        await TestHub.Eventually(() => hub.Hub.Metrics.Published == 1, "one publish counted (after its fan-out)");
    }

    [Fact]
    public async Task Demo_publishing_past_the_limit_gets_429_with_retry_after_and_other_clients_still_publish()
    {
        await using var hub = await TestHub.StartAsync(DemoSettings.Serve(new Dictionary<string, string?>
        {
            [DemoPublishLimit.BurstKey] = "3",
            [DemoPublishLimit.PerMinuteKey] = "1",
        }));
        for (var i = 0; i < 3; i++)
        {
            using var accepted = await hub.Client.PostAsJsonAsync("/demo/dashboard/updates", new { text = "test " + i });
            Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        }

        using var refusedTest = await hub.Client.PostAsJsonAsync("/demo/dashboard/updates", new { text = "one too many" });
        Assert.Equal(HttpStatusCode.TooManyRequests, refusedTest.StatusCode);

        // The chat and the dashboard's box draw on one bucket per client; joining publishes nothing and is not limited.
        var pass = await DemoEndpointTests.JoinAsync(hub, "lobby", "ada");
        using var refused = await Post(hub, pass, new { nickname = "ada", text = "one too many" });

        foreach (var response in new[] { refusedTest, refused })
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
            var retryAfter = response.Headers.RetryAfter?.Delta;
            Assert.True(retryAfter is { TotalSeconds: >= 1 and <= 60 }, $"Retry-After: {response.Headers.RetryAfter}");
            var reason = await response.Content.ReadAsStringAsync();
            Assert.StartsWith("too many demo publishes", reason, StringComparison.Ordinal);
            Assert.Single(reason.TrimEnd('\n').Split('\n'));
        }

        await TestHub.Eventually(() => hub.Hub.Metrics.Published == 3, "three demo publishes fanned out");

        // Another address (127.0.0.2 is loopback too on Linux) has its own bucket.
        using var other = new HttpClient(new SocketsHttpHandler { ConnectCallback = FromAnotherAddressAsync })
        {
            BaseAddress = new Uri(hub.BaseUrl),
            Timeout = TimeSpan.FromSeconds(30),
        };
        using var fromElsewhere = await other.PostAsJsonAsync("/demo/dashboard/updates", new { text = "test" });
        Assert.Equal(HttpStatusCode.OK, fromElsewhere.StatusCode);
    }

    [Fact]
    public void The_default_publish_limit_is_above_what_a_person_chatting_sends()
    {
        Assert.True(DemoPublishLimit.DefaultBurst >= 10);
        Assert.True(DemoPublishLimit.DefaultPerMinute >= 20);
    }

    private static Task<HttpResponseMessage> Post(TestHub hub, string? pass, object body)
        => DemoEndpointTests.PostMessageAsync(hub, "lobby", JsonContent.Create(body), pass);

    /// <summary>The same pass with its nickname swapped for another: the signature no longer matches.</summary>
    private static string Forge(string pass)
    {
        var parts = pass.Split('.');
        var body = System.Text.Encoding.UTF8.GetString(System.Buffers.Text.Base64Url.DecodeFromChars(parts[0]));
        var forged = System.Buffers.Text.Base64Url.EncodeToString(System.Text.Encoding.UTF8.GetBytes(body.Replace("\nada\n", "\neve\n", StringComparison.Ordinal)));
        return forged + "." + parts[1];
    }

    private static async ValueTask<Stream> FromAnotherAddressAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.Bind(new IPEndPoint(IPAddress.Parse("127.0.0.2"), 0));
            await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private static string NewDirectory()
    {
        var directory = Path.Combine(Path.GetTempPath(), "herald-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        return directory;
    }
}
