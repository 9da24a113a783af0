using System.Text.Json;
using Herald.Security;
using Herald.Tests.Infrastructure;

namespace Herald.Tests.Client;

/// <summary>The <c>herald</c> executable end to end: <c>dotnet Herald.Cli.dll …</c> as a child process against the real hub.</summary>
public sealed class CliTests
{
    private const string Topic = "https://example.com/books/1";

    [Fact]
    public async Task Subscribe_prints_what_publish_published_as_data_lines_or_one_JSON_object_per_line()
    {
        await using var hub = await TestHub.StartAsync();
        var token = TestHub.SubscriberToken();
        await using var plain = ChildProcess.StartHerald(["subscribe", "--hub", hub.HubUrl, "--token", token, "--topic", Topic]);

        // A bare origin stands for the hub at /.well-known/mercure.
        await using var json = ChildProcess.StartHerald(["subscribe", "--hub", hub.BaseUrl, "--token", token, "--topic", "https://example.com/books/{id}", "--json"]);
        await TestHub.Eventually(() => hub.Hub.SubscriberCount == 2, "both herald subscribe processes connected", 30_000);

        var publish = await ChildProcess.RunHeraldAsync(
            ["publish", "--hub", hub.HubUrl, "--token", TestHub.PublisherToken(), "--topic", Topic, "--data", "{\"title\":\"Dune\"}\nsecond line", "--type", "changed"]);

        Assert.Equal((0, string.Empty), (publish.ExitCode, publish.Stderr));
        var id = Assert.Single(Lines(publish.Stdout));
        Assert.StartsWith("urn:uuid:", id, StringComparison.Ordinal);
        Assert.Equal("{\"title\":\"Dune\"}", await plain.NextLineAsync());
        Assert.Equal("second line", await plain.NextLineAsync());
        AssertJson(await json.NextLineAsync(), id, "changed", "{\"title\":\"Dune\"}\nsecond line");

        var next = await hub.PublishAsync("https://example.com/books/2", "plain");
        AssertJson(await json.NextLineAsync(), next, "message", "plain");
        Assert.Equal(string.Empty, plain.Stderr + json.Stderr);
    }

    [Theory]
    [InlineData("publish")]
    [InlineData("subscribe")]
    public async Task A_token_the_hub_refuses_is_one_line_on_stderr_and_a_non_zero_exit(string command)
    {
        await using var hub = await TestHub.StartAsync();
        var forged = TokenIssuer.Create("not-the-hub-key-0123456789-0123456789", ["*"], ["*"], TimeSpan.FromHours(1));
        string[] arguments = command == "publish"
            ? ["publish", "--hub", hub.HubUrl, "--token", forged, "--topic", Topic, "--data", "x"]
            : ["subscribe", "--hub", hub.HubUrl, "--token", forged, "--topic", Topic];

        var run = await ChildProcess.RunHeraldAsync(arguments);

        Assert.NotEqual(0, run.ExitCode);
        Assert.Equal(string.Empty, run.Stdout);
        var line = Assert.Single(Lines(run.Stderr));
        Assert.StartsWith($"herald: {command} failed: 401 Unauthorized: ", line, StringComparison.Ordinal);
        // A 1.0 hub names the RFC 6750 code first (publish: "invalid_token: invalid publisher token: …").
        Assert.Contains("invalid ", line, StringComparison.Ordinal);
        Assert.Contains("check --token", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_token_from_herald_token_publishes_with_hub_and_token_taken_from_the_environment()
    {
        await using var hub = await TestHub.StartAsync();
        await using var reader = await hub.SubscribeAsync("topic=" + Uri.EscapeDataString(Topic), TestHub.SubscriberToken());

        var token = await ChildProcess.RunHeraldAsync(["token", "--key", TestHub.Key, "--publish", "*", "--ttl", "5m", "--legacy"]);
        Assert.Equal((0, string.Empty), (token.ExitCode, token.Stderr));
        var jwt = Assert.Single(Lines(token.Stdout));

        var publish = await ChildProcess.RunHeraldAsync(
            ["publish", "--topic", Topic, "--data", "from the environment"],
            new Dictionary<string, string?> { ["HERALD_HUB"] = hub.HubUrl, ["HERALD_TOKEN"] = jwt });

        Assert.Equal((0, string.Empty), (publish.ExitCode, publish.Stderr));
        var update = await reader.NextAsync();
        Assert.Equal((Assert.Single(Lines(publish.Stdout)), "from the environment"), (update?.EventId, update?.Data));
    }

    [Theory]
    [InlineData("publish --hub http://127.0.0.1:9", "herald publish: Option '--topic' is required; Option '--data' is required — see 'herald publish --help'")]
    [InlineData("subscribe --json", "herald subscribe: Option '--match', '--urlpattern' or (0.x) '--topic' is required — see 'herald subscribe --help'")]
    [InlineData("token --publish * --frobnicate", "herald token: Unrecognized command or argument '--frobnicate'; Option '--key' is required — see 'herald token --help'")]
    public async Task A_command_line_that_does_not_parse_is_one_line_naming_the_help_and_exit_code_2(string arguments, string error)
    {
        var run = await ChildProcess.RunHeraldAsync(arguments.Split(' '));

        Assert.Equal((2, string.Empty), (run.ExitCode, run.Stdout));
        Assert.Equal(error, Assert.Single(Lines(run.Stderr)));
    }

    [Theory]
    [InlineData("0", "4")] // as fast as the hub answers, over four connections
    [InlineData("200", "2")] // paced to an absolute schedule
    public async Task Bench_delivers_every_update_to_every_subscriber_and_reports_it_as_JSON(string rate, string publishers)
    {
        await using var hub = await TestHub.StartAsync();

        // The drain only waits while deliveries are missing: a generous one costs nothing when the hub keeps up, and
        // keeps a busy machine from turning "late" into "lost" (the default is 5 s).
        var run = await ChildProcess.RunHeraldAsync(
            ["bench", "--url", hub.HubUrl + "?topic=bench", "--jwt-key", TestHub.Key, "--subscriber-token", TestHub.SubscriberToken(), "-n", "20", "-m", "60", "-r", rate, "--publishers", publishers, "--drain-seconds", "60", "--json"],
            timeout: TimeSpan.FromSeconds(180));

        Assert.True(run.ExitCode == 0, run.Stdout + run.Stderr);
        using var document = JsonDocument.Parse(run.Stdout);
        var result = document.RootElement;
        Assert.Equal(
            (20, 60, 0, 1200, 100.0, true),
            (result.GetProperty("subscribed").GetInt32(), result.GetProperty("published").GetInt32(), result.GetProperty("publishFailed").GetInt32(),
                result.GetProperty("delivered").GetInt32(), result.GetProperty("deliveryPercent").GetDouble(), result.GetProperty("pass").GetBoolean()));
        Assert.True(result.GetProperty("latencyP50Ms").GetDouble() > 0, run.Stdout);
        Assert.True(result.GetProperty("publishRate").GetDouble() > 0, run.Stdout);
    }

    [Fact]
    public async Task Bench_with_a_key_the_hub_refuses_fails_naming_the_answer()
    {
        await using var hub = await TestHub.StartAsync();

        var run = await ChildProcess.RunHeraldAsync(
            ["bench", "--url", hub.HubUrl + "?topic=bench", "--jwt-key", "not-the-hub-key-0123456789-0123456789", "-n", "0", "-m", "10", "-r", "0", "--json"]);

        Assert.NotEqual(0, run.ExitCode);
        using var document = JsonDocument.Parse(run.Stdout);
        var result = document.RootElement;
        Assert.Equal((0, 10), (result.GetProperty("published").GetInt32(), result.GetProperty("publishFailed").GetInt32()));
        Assert.StartsWith("publish answered 401", result.GetProperty("firstError").GetString(), StringComparison.Ordinal);
    }

    private static void AssertJson(string line, string id, string type, string data)
    {
        using var document = JsonDocument.Parse(line);
        var root = document.RootElement;
        Assert.Equal(
            (id, type, data),
            (root.GetProperty("id").GetString(), root.GetProperty("type").GetString(), root.GetProperty("data").GetString()));
    }

    private static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
