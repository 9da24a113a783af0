using System.Text.Json;
using Herald.Tests.Client;
using Herald.Tests.Infrastructure;

namespace Herald.Tests.Bench;

/// <summary>
/// <c>herald bench</c> end to end: Herald.Cli starts the load generator (bench/Herald.Bench) in a process of its own,
/// against the real hub. The bench's figures are never judged here, only that every update reached every subscriber.
/// </summary>
public sealed class BenchTests
{
    private static readonly TimeSpan RunTimeout = TimeSpan.FromSeconds(180);

    [Fact]
    public async Task On_the_runtimes_sockets_forced_by_the_environment_every_update_reaches_every_subscriber()
    {
        await using var hub = await TestHub.StartAsync();

        // The portable path (SocketAsyncEventArgs subscribers, Socket.Select publishers), which Linux never takes by default.
        var result = await RunBenchAsync(hub, ["-n", "20", "-m", "60", "-r", "0", "--publishers", "4"], new Dictionary<string, string?> { ["HERALD_BENCH_SOCKETS"] = "runtime" });

        Assert.Equal(
            ("runtime", 20, 60, 1200, true),
            (result.GetProperty("sockets").GetString(), result.GetProperty("subscribed").GetInt32(), result.GetProperty("published").GetInt32(),
                result.GetProperty("delivered").GetInt32(), result.GetProperty("pass").GetBoolean()));
    }

    [Theory]
    [InlineData("epoll")]
    [InlineData("runtime")]
    public async Task Subscribers_held_by_worker_processes_receive_every_update(string sockets)
    {
        await using var hub = await TestHub.StartAsync();

        var result = await RunBenchAsync(hub, ["-n", "20", "-m", "30", "-r", "0", "--publishers", "2", "--processes", "2", "--sockets", sockets]);

        Assert.Equal(
            (sockets, 2, 20, 600, true),
            (result.GetProperty("sockets").GetString(), result.GetProperty("processes").GetInt32(), result.GetProperty("subscribed").GetInt32(),
                result.GetProperty("delivered").GetInt32(), result.GetProperty("pass").GetBoolean()));
    }

    [Fact]
    public async Task Help_is_the_load_generators_own_under_the_name_users_type()
    {
        var run = await ChildProcess.RunHeraldAsync(["bench", "--help"]);

        Assert.Equal((0, string.Empty), (run.ExitCode, run.Stderr));
        Assert.Contains("herald bench [options]", run.Stdout, StringComparison.Ordinal);
        Assert.Contains("--sockets", run.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unknown_socket_api_in_the_environment_is_one_line_and_exit_code_2()
    {
        var run = await ChildProcess.RunHeraldAsync(
            ["bench", "--url", "http://127.0.0.1:9/.well-known/mercure?topic=bench", "-n", "1", "-m", "1"],
            new Dictionary<string, string?> { ["HERALD_BENCH_SOCKETS"] = "kqueue" });

        Assert.Equal((2, string.Empty), (run.ExitCode, run.Stdout));
        Assert.Equal("herald bench: HERALD_BENCH_SOCKETS='kqueue': epoll or runtime.", run.Stderr.Trim());
    }

    private static async Task<JsonElement> RunBenchAsync(TestHub hub, string[] arguments, IReadOnlyDictionary<string, string?>? environment = null)
    {
        // A generous drain only waits while deliveries are missing: a busy machine turns "late" into nothing worse.
        var run = await ChildProcess.RunHeraldAsync(
            ["bench", "--url", hub.HubUrl + "?topic=bench", "--jwt-key", TestHub.Key, "--subscriber-token", TestHub.SubscriberToken(), "--drain-seconds", "60", "--json", .. arguments],
            environment,
            RunTimeout);

        Assert.True(run.ExitCode == 0, run.Stdout + run.Stderr);
        using var document = JsonDocument.Parse(run.Stdout);
        return document.RootElement.Clone();
    }
}
