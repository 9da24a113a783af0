using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;

namespace Herald.Bench;

/// <summary>
/// The hub processes the storm workload (f) owns: one per <c>--storm-serve</c> command line, started through
/// <c>/bin/sh -c "exec …"</c> (so the pid is the hub's), output appended to <c>storm-node{N}.log</c>. It kills one with
/// SIGKILL, starts it again with the same command (same port, same data directory), and tells when a node answers HTTP.
/// </summary>
internal sealed partial class StormHubs : IDisposable
{
    private const int SigTerm = 15;

    private readonly string[] _commands;
    private readonly Process?[] _processes;
    private readonly string _logDirectory;
    private readonly HttpClient _probe = new() { Timeout = TimeSpan.FromSeconds(2) };

    private StormHubs(string[] commands, IPEndPoint[] nodes, string logDirectory)
    {
        _commands = commands;
        Nodes = nodes;
        _processes = new Process?[commands.Length];
        _logDirectory = logDirectory;
    }

    /// <summary>Each node's address: the first loopback <c>http://127.x.x.x:PORT</c> in its command line.</summary>
    public IReadOnlyList<IPEndPoint> Nodes { get; }

    public string LogDirectory => _logDirectory;

    public static StormHubs Create(IReadOnlyList<string> commands, string logDirectory)
    {
        var nodes = new IPEndPoint[commands.Count];
        for (var i = 0; i < commands.Count; i++)
        {
            var match = LoopbackUrl().Match(commands[i]);
            if (!match.Success)
            {
                throw new BenchException($"--storm-serve '{commands[i]}': no http://127.x.x.x:PORT in it (the hub must listen on loopback; the bench connects there).");
            }

            nodes[i] = new IPEndPoint(IPAddress.Parse(match.Groups[1].Value), int.Parse(match.Groups[2].Value, CultureInfo.InvariantCulture));
        }

        Directory.CreateDirectory(logDirectory);
        return new StormHubs([.. commands], nodes, logDirectory);
    }

    public int Pid(int node) => _processes[node]?.Id ?? 0;

    /// <summary>Starts node <paramref name="node"/> with its command line.</summary>
    public void Start(int node)
    {
        var log = Path.Combine(_logDirectory, $"storm-node{node}.log");
        var start = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add($"exec {_commands[node]} >>'{log.Replace("'", "'\\''", StringComparison.Ordinal)}' 2>&1");
        _processes[node] = Process.Start(start) ?? throw new BenchException($"could not start node {node}: {_commands[node]}");
    }

    /// <summary>Polls until the node answers any HTTP request; returns when (Stopwatch timestamp).</summary>
    public async Task<long> WaitAnsweringAsync(int node, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var url = new Uri($"http://{Nodes[node]}/healthz");
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < deadline)
        {
            if (_processes[node] is not { HasExited: false } process)
            {
                throw new BenchException($"node {node} exited at start; see {Path.Combine(_logDirectory, $"storm-node{node}.log")}");
            }

            try
            {
                using var response = await _probe.GetAsync(url, cancellationToken);
                return Stopwatch.GetTimestamp();
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
            {
                await Task.Delay(10, cancellationToken);
            }
        }

        throw new BenchException($"node {node} did not answer within {timeout.TotalSeconds:F0} s; see {_logDirectory}");
    }

    /// <summary>SIGKILL: no shutdown code runs; the kernel cuts every stream of the node at once.</summary>
    public void Kill(int node)
    {
        if (_processes[node] is { } process)
        {
            process.Kill();
            process.WaitForExit();
            process.Dispose();
            _processes[node] = null;
        }
    }

    /// <summary>The node's peak resident set (VmHWM) so far, in bytes; 0 when unknown.</summary>
    public long PeakRssBytes(int node)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{Pid(node)}/status"))
            {
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                {
                    return long.Parse(line["VmHWM:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
                }
            }
        }
        catch (IOException)
        {
        }

        return 0;
    }

    /// <summary>Stops every node still running: SIGTERM, then SIGKILL after 10 s.</summary>
    public void Dispose()
    {
        foreach (var process in _processes.OfType<Process>())
        {
            _ = Signal(process.Id, SigTerm);
        }

        for (var node = 0; node < _processes.Length; node++)
        {
            if (_processes[node] is { } process && !process.WaitForExit(10_000))
            {
                Kill(node);
            }

            _processes[node]?.Dispose();
        }

        _probe.Dispose();
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Signal(int pid, int signal);

    [GeneratedRegex(@"http://(127\.\d{1,3}\.\d{1,3}\.\d{1,3}):(\d{1,5})")]
    private static partial Regex LoopbackUrl();
}
