using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Herald.Tests.Client;
using Herald.Tests.Infrastructure;

namespace Herald.Tests.Storm;

/// <summary>
/// <c>herald bench --storm-serve</c>, the storm workload (f), end to end at a tiny size: the bench starts its own
/// <c>herald serve</c> with SQLite history, SIGKILLs it, starts it again on the same port and data directory, and counts
/// what its subscribers lost or got twice. Its timings are never judged here; only that it ran the storm and that every
/// subscriber came back holding every acknowledged update once.
/// </summary>
public sealed class StormBenchTests
{
    [Fact]
    public async Task The_storm_workload_restarts_its_hub_and_every_subscriber_resumes_with_nothing_lost_or_duplicated()
    {
        var directory = Path.Combine(Path.GetTempPath(), "herald-tests", Guid.NewGuid().ToString("N"));
        var port = FreePort();
        var hub = $"dotnet '{Path.Combine(AppContext.BaseDirectory, "Herald.Cli.dll")}' serve --urls http://127.0.0.1:{port} --jwt-key {TestHub.Key} --anonymous --data-dir '{Path.Combine(directory, "data")}'";

        // Generous drain and connect allowances: they only wait while something is missing, so a slow machine is no failure.
        var run = await ChildProcess.RunHeraldAsync(
            ["bench", "--url", $"http://127.0.0.1:{port}/.well-known/mercure?topic=bench", "--jwt-key", TestHub.Key, "-n", "50", "-r", "20",
                "--storm-serve", hub, "--storm-kill-after", "1", "--storm-seconds", "2", "--storm-log-dir", Path.Combine(directory, "logs"),
                "--drain-seconds", "60", "--connect-timeout", "120", "--json"],
            timeout: TimeSpan.FromSeconds(400));

        Assert.True(run.ExitCode == 0, run.Stdout + run.Stderr);
        using var document = JsonDocument.Parse(run.Stdout);
        var result = document.RootElement;
        Assert.Equal(
            ("storm", 1, 50, 50, 0L, 0L, 0L, true),
            (result.GetProperty("workload").GetString(), result.GetProperty("nodes").GetInt32(), result.GetProperty("cut").GetInt32(),
                result.GetProperty("subscribed").GetInt32(), result.GetProperty("lost").GetInt64(), result.GetProperty("duplicated").GetInt64(),
                result.GetProperty("unresumed").GetInt64(), result.GetProperty("pass").GetBoolean()));
        Assert.True(result.GetProperty("published").GetInt64() > 0, run.Stdout);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
