using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Herald.Tests.Infrastructure;

/// <summary>
/// <c>herald serve</c> as a real child process (for kill -9 and restart tests), on 127.0.0.1 port 0;
/// the bound URL is read from what it prints.
/// </summary>
internal sealed partial class HubProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly List<string> _output;

    private HubProcess(Process process, string baseUrl, List<string> output)
    {
        _process = process;
        BaseUrl = baseUrl;
        _output = output;
    }

    public string BaseUrl { get; }

    public string HubUrl => BaseUrl + "/.well-known/mercure";

    public int Pid => _process.Id;

    /// <summary>Everything it printed to stdout so far.</summary>
    public IReadOnlyList<string> Output
    {
        get
        {
            lock (_output)
            {
                return [.. _output];
            }
        }
    }

    public static Task<HubProcess> StartAsync(string dataDir, params string[] extraArgs) => StartAsync(dataDir, withKey: true, extraArgs);

    /// <summary>Starts <c>herald serve</c>; without <paramref name="withKey"/> it runs on a key it generates itself.</summary>
    public static Task<HubProcess> StartAsync(string dataDir, bool withKey, params string[] extraArgs)
        => StartAsync(dataDir, withKey, new Dictionary<string, string>(), extraArgs);

    /// <summary>Starts <c>herald serve</c> with extra environment variables (e.g. <c>Herald__…</c> settings).</summary>
    public static async Task<HubProcess> StartAsync(string dataDir, bool withKey, IDictionary<string, string> environment, params string[] extraArgs)
    {
        var (process, lines) = Launch(dataDir, withKey, extraArgs, environment);
        var url = await WaitForAsync(process, lines, line => HubUrlPattern().Match(line) is { Success: true } m ? m.Groups[1].Value : null);
        // The hub keeps printing (its token comes after the URL): share the list the reader thread appends to.
        return new HubProcess(process, url!, lines);
    }

    /// <summary>
    /// Starts <c>herald serve</c> as a newcomer runs it: in <paramref name="workingDirectory"/>, with no
    /// <c>--data-dir</c> and no key, so every default applies.
    /// </summary>
    public static async Task<HubProcess> StartWithDefaultsAsync(string workingDirectory, params string[] extraArgs)
    {
        var (process, lines) = Launch(dataDir: null, withKey: false, extraArgs, workingDirectory: workingDirectory);
        var url = await WaitForAsync(process, lines, line => HubUrlPattern().Match(line) is { Success: true } m ? m.Groups[1].Value : null);
        return new HubProcess(process, url!, lines);
    }

    /// <summary>Runs <c>herald serve</c> expecting it to fail at start; returns its exit code and what it printed to stderr.</summary>
    public static async Task<(int ExitCode, string Stderr)> FailToStartAsync(string dataDir, params string[] extraArgs)
    {
        var (process, _) = Launch(dataDir, withKey: true, extraArgs);
        var exited = process.WaitForExitAsync();
        if (await Task.WhenAny(exited, Task.Delay(30_000)) != exited)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail("herald serve should have refused to start");
        }

        return (process.ExitCode, await process.StandardError.ReadToEndAsync());
    }

    /// <summary>Starts <c>herald serve</c> on <paramref name="urls"/> (default: a port the system picks), its output collected line by line.</summary>
    internal static (Process Process, List<string> Lines) Launch(
        string? dataDir, bool withKey, string[] extraArgs, IDictionary<string, string>? environment = null, string? workingDirectory = null, string urls = "http://127.0.0.1:0")
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Path.GetTempPath(),
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Herald.Cli.dll"));
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        string[] key = withKey ? ["--jwt-key", TestHub.Key] : [];
        string[] data = dataDir is null ? [] : ["--data-dir", dataDir];
        foreach (var arg in (string[])["serve", "--urls", urls, .. data, .. key, .. extraArgs])
        {
            start.ArgumentList.Add(arg);
        }

        var process = Process.Start(start)!;
        var lines = new List<string>();
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (lines)
                {
                    lines.Add(e.Data);
                }
            }
        };
        process.BeginOutputReadLine();
        return (process, lines);
    }

    private static async Task<string?> WaitForAsync(Process process, List<string> lines, Func<string, string?> find)
    {
        var deadline = Environment.TickCount64 + 60_000;
        while (Environment.TickCount64 < deadline)
        {
            lock (lines)
            {
                foreach (var line in lines)
                {
                    if (find(line) is { } found)
                    {
                        return found;
                    }
                }
            }

            if (process.HasExited)
            {
                Assert.Fail($"herald serve exited with {process.ExitCode}: {await process.StandardError.ReadToEndAsync()}");
            }

            await Task.Delay(50);
        }

        process.Kill(entireProcessTree: true);
        Assert.Fail("herald serve did not print its URL within 60 s");
        return null;
    }

    /// <summary>
    /// Where the hub wrote the startup token it mints on a generated key (the path it prints) and the token in it. Waits
    /// for the line: it comes after the URL.
    /// </summary>
    public async Task<(string Path, string Token)> StartupTokenAsync()
    {
        string? path = null;
        await TestHub.Eventually(
            () => (path = Output.Select(line => StartupTokenPattern().Match(line)).FirstOrDefault(m => m.Success)?.Groups[1].Value) is not null,
            "the line saying where the startup token is");
        return (path!, (await File.ReadAllTextAsync(path!)).Trim());
    }

    /// <summary>What it printed to stderr, once it has exited.</summary>
    public Task<string> StandardErrorAsync()
    {
        Assert.True(_process.HasExited, "stderr is read whole once the hub has exited");
        return _process.StandardError.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(30));
    }

    /// <summary>SIGKILL: no shutdown code runs.</summary>
    public async Task KillAsync()
    {
        _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
    }

    /// <summary>SIGTERM, as <c>kill</c> and service managers send it: the hub shuts down gracefully. Waits for the exit.</summary>
    public async Task TerminateAsync()
    {
        // The runtime can only SIGKILL a process; a graceful stop needs the signal sent the way `kill` does.
        if (Terminate(_process.Id, SigTerm) != 0)
        {
            Assert.Fail("kill(SIGTERM) failed");
        }

        await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
    }

    /// <summary>The exit code, once it has exited.</summary>
    public int ExitCode => _process.ExitCode;

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            await KillAsync();
        }

        _process.Dispose();
    }

    private const int SigTerm = 15;

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill")]
    private static extern int Terminate(int pid, int signal);

    [GeneratedRegex(@"hub at (http://[^/\s]+)/\.well-known/mercure")]
    private static partial Regex HubUrlPattern();

    [GeneratedRegex(@"^herald: a token to publish and subscribe to any topic \(valid 24 h\) is in (.+) \(readable by you only")]
    private static partial Regex StartupTokenPattern();
}
