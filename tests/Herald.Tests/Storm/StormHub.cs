using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Herald.Tests.Infrastructure;

namespace Herald.Tests.Storm;

/// <summary>
/// <c>herald serve</c> as a real child process on a FIXED loopback port, so that it can be SIGKILLed and started again
/// on the same address and data directory while clients keep reconnecting to that address (what a reconnect storm is).
/// </summary>
/// <remarks>
/// Between the kill and the restart another process may take the port for an outgoing connection; a start that fails
/// is therefore tried again (up to <see cref="StartAttempts"/> times), and only the last failure fails the test.
/// </remarks>
internal sealed partial class StormHub : IAsyncDisposable
{
    private const int StartAttempts = 10;
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);

    private readonly string[] _arguments;
    private Process? _process;

    private StormHub(int port, string[] arguments)
    {
        Port = port;
        _arguments = arguments;
    }

    public int Port { get; }

    public string BaseUrl => $"http://127.0.0.1:{Port}";

    public string HubUrl => BaseUrl + "/.well-known/mercure";

    /// <summary>How many times it was started (restarts included).</summary>
    public int Starts { get; private set; }

    /// <summary>
    /// Starts <c>herald serve --urls http://127.0.0.1:PORT --jwt-key …</c> on a free port with
    /// <paramref name="extraArgs"/> (e.g. <c>--data-dir DIR</c>, or <c>--transport redis://…</c>).
    /// </summary>
    public static async Task<StormHub> StartAsync(params string[] extraArgs)
    {
        var hub = new StormHub(FreePort(), extraArgs);
        await hub.StartAgainAsync();
        return hub;
    }

    /// <summary>SIGKILL: no shutdown code runs; every open stream is cut by the kernel at once.</summary>
    public async Task KillAsync()
    {
        if (_process is { } process)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
            process.Dispose();
            _process = null;
        }
    }

    /// <summary>Starts the hub (again) on the same port with the same arguments; returns once it printed its URL.</summary>
    public async Task StartAgainAsync()
    {
        string? failure = null;
        for (var attempt = 0; attempt < StartAttempts; attempt++)
        {
            var (process, lines) = Launch();
            var started = await WaitForUrlAsync(process, lines);
            if (started)
            {
                _process = process;
                Starts++;
                return;
            }

            // Exited at start (most likely the port taken meanwhile) or hung: try again a little later.
            failure = process.HasExited ? await process.StandardError.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(30)) : "no URL printed in time";
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
            }

            process.Dispose();
            await Task.Delay(500);
        }

        Assert.Fail($"herald serve did not start on port {Port} after {StartAttempts} attempts: {failure}");
    }

    public async ValueTask DisposeAsync() => await KillAsync();

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private (Process Process, List<string> Lines) Launch()
        => HubProcess.Launch(dataDir: null, withKey: true, _arguments, urls: BaseUrl);

    private static async Task<bool> WaitForUrlAsync(Process process, List<string> lines)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(StartTimeout.TotalSeconds * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < deadline && !process.HasExited)
        {
            lock (lines)
            {
                if (lines.Any(line => HubUrlPattern().IsMatch(line)))
                {
                    return true;
                }
            }

            await Task.Delay(50);
        }

        return false;
    }

    [GeneratedRegex(@"hub at http://[^/\s]+/\.well-known/mercure")]
    private static partial Regex HubUrlPattern();
}
