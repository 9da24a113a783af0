using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Herald.Tests.Redis;

/// <summary>
/// A real <c>redis-server</c> as a child process on a free loopback port, with its files in a temporary directory.
/// It can be killed (SIGKILL) and started again on the same port and directory, with its append-only file, to
/// test what survives an outage.
/// </summary>
internal sealed class RedisServer : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(15);
    private readonly string _directory;
    private readonly bool _appendOnly;
    private readonly List<string> _output = [];
    private Process? _process;

    private RedisServer(int port, string directory, bool appendOnly)
    {
        Port = port;
        _directory = directory;
        _appendOnly = appendOnly;
    }

    public int Port { get; }

    /// <summary>The hub's transport setting for this server.</summary>
    public string Url => $"redis://127.0.0.1:{Port}";

    /// <summary>Starts one. With <paramref name="appendOnly"/> every acknowledged write survives a kill and restart.</summary>
    public static async Task<RedisServer> StartAsync(bool appendOnly = false)
    {
        var directory = Path.Combine(Path.GetTempPath(), "herald-redis-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        var server = new RedisServer(FreePort(), directory, appendOnly);
        await server.LaunchAsync();
        return server;
    }

    /// <summary>A loopback port nothing listens on (for "Redis is unreachable" tests).</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>SIGKILL: Redis gets no chance to save or say goodbye; clients see their connections drop.</summary>
    public async Task KillAsync()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill();
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        }
    }

    /// <summary>Starts it again on the same port, from the same directory (and append-only file).</summary>
    public Task RestartAsync() => LaunchAsync();

    /// <summary>Sends one command (inline form) and returns the first line of the reply.</summary>
    public async Task<string> CommandAsync(string command)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, Port).WaitAsync(TimeSpan.FromSeconds(5));
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.UTF8.GetBytes(command + "\r\n")).AsTask().WaitAsync(TimeSpan.FromSeconds(5));
        var buffer = new byte[4096];
        var read = await stream.ReadAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(5));
        return Encoding.UTF8.GetString(buffer, 0, read).Split("\r\n")[0];
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process?.Dispose();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private async Task LaunchAsync()
    {
        _process?.Dispose();
        var start = new ProcessStartInfo(Executable())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = _directory,
        };
        foreach (var arg in (string[])[
            "--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--bind", "127.0.0.1",
            "--dir", _directory,
            "--save", string.Empty,
            "--appendonly", _appendOnly ? "yes" : "no",
            "--daemonize", "no"])
        {
            start.ArgumentList.Add(arg);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("redis-server did not start");
        process.OutputDataReceived += (_, e) => Keep(e.Data);
        process.ErrorDataReceived += (_, e) => Keep(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;

        // Ready when it answers PING (with an append-only file: once it has loaded it).
        var deadline = DateTime.UtcNow + StartTimeout;
        while (true)
        {
            try
            {
                if (await CommandAsync("PING") == "+PONG")
                {
                    return;
                }
            }
            catch (Exception e) when (e is SocketException or IOException or TimeoutException)
            {
            }

            if (process.HasExited || DateTime.UtcNow > deadline)
            {
                string output;
                lock (_output)
                {
                    output = string.Join('\n', _output.TakeLast(20));
                }

                Assert.Fail($"redis-server on port {Port} did not come up: {output}");
            }

            await Task.Delay(20);
        }
    }

    private void Keep(string? line)
    {
        if (line is not null)
        {
            lock (_output)
            {
                _output.Add(line);
            }
        }
    }

    private static string Executable()
    {
        foreach (var directory in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin").Split(':').Append("/usr/bin"))
        {
            var path = Path.Combine(directory, "redis-server");
            if (File.Exists(path))
            {
                return path;
            }
        }

        Assert.Fail("redis-server is not installed (apt-get install redis-server; .ci/run does it)");
        return string.Empty;
    }
}

/// <summary>One <c>redis-server</c> shared by the tests of a class; each test keeps to its own key prefix.</summary>
public sealed class RedisFixture : IAsyncLifetime
{
    internal RedisServer Server { get; private set; } = null!;

    public async Task InitializeAsync() => Server = await RedisServer.StartAsync();

    public async Task DisposeAsync() => await Server.DisposeAsync();
}
