using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Herald.Tests.Infrastructure;

/// <summary>
/// <c>herald serve</c> as a real process under a low open-file limit (<c>ulimit -n</c>, soft and hard, set by bash
/// before it execs the hub), on 127.0.0.1 port 0, anonymous subscribers allowed.
/// </summary>
internal sealed partial class LowFileLimitHub : IAsyncDisposable
{
    private readonly Process _process;
    private readonly List<string> _output;
    private readonly string _dataDir;

    private LowFileLimitHub(Process process, string baseUrl, List<string> output, string dataDir)
    {
        _process = process;
        BaseUrl = baseUrl;
        _output = output;
        _dataDir = dataDir;
    }

    public string BaseUrl { get; }

    public string HubUrl => BaseUrl + "/.well-known/mercure";

    public Process Process => _process;

    public string Output
    {
        get
        {
            lock (_output)
            {
                return string.Join('\n', _output);
            }
        }
    }

    public static async Task<LowFileLimitHub> StartAsync(int fileLimit, IDictionary<string, string>? environment = null)
    {
        var dataDir = Path.Combine(Path.GetTempPath(), "herald-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dataDir);
        var start = new ProcessStartInfo("bash")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = dataDir,
        };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add($"ulimit -n {fileLimit} && exec dotnet \"$0\" serve --urls http://127.0.0.1:0 --data-dir \"$1\" --jwt-key \"$2\" --anonymous");
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Herald.Cli.dll"));
        start.ArgumentList.Add(dataDir);
        start.ArgumentList.Add(TestHub.Key);
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        var process = Process.Start(start)!;
        var lines = new List<string>();
        void Append(object sender, DataReceivedEventArgs e)
        {
            if (e.Data is not null)
            {
                lock (lines)
                {
                    lines.Add(e.Data);
                }
            }
        }

        process.OutputDataReceived += Append;
        process.ErrorDataReceived += Append;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var deadline = Environment.TickCount64 + 60_000;
        while (Environment.TickCount64 < deadline)
        {
            string? url = null;
            lock (lines)
            {
                url = lines.Select(line => HubUrlPattern().Match(line)).FirstOrDefault(m => m.Success)?.Groups[1].Value;
            }

            if (url is not null)
            {
                return new LowFileLimitHub(process, url, lines, dataDir);
            }

            if (process.HasExited)
            {
                Assert.Fail($"herald serve exited with {process.ExitCode}: {string.Join('\n', lines)}");
            }

            await Task.Delay(50);
        }

        process.Kill(entireProcessTree: true);
        Assert.Fail("herald serve did not print its URL within 60 s");
        return null!;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }

        _process.Dispose();
        try
        {
            Directory.Delete(_dataDir, recursive: true);
        }
        catch (IOException)
        {
            // Best effort.
        }
    }

    [GeneratedRegex(@"hub at (http://[^/\s]+)/\.well-known/mercure")]
    private static partial Regex HubUrlPattern();
}
