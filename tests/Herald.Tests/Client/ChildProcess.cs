using System.Diagnostics;
using System.Text;
using System.Threading.Channels;

namespace Herald.Tests.Client;

/// <summary>
/// A child process (the <c>herald</c> CLI, <c>node</c>, <c>npm</c>) whose stdout is read line by line as it comes, so a
/// test can wait for one line, act, and wait for the next; every wait has a deadline and the process is killed on dispose.
/// </summary>
internal sealed class ChildProcess : IAsyncDisposable
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    private readonly Process _process;
    private readonly Channel<string> _lines = Channel.CreateUnbounded<string>();
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();
    private readonly TaskCompletionSource _stdoutClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _stderrClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private ChildProcess(Process process) => _process = process;

    /// <summary>The name to show in failure messages.</summary>
    public string Name { get; private init; } = string.Empty;

    public string Stdout
    {
        get
        {
            lock (_stdout)
            {
                return _stdout.ToString();
            }
        }
    }

    public string Stderr
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    public int ExitCode => _process.ExitCode;

    /// <summary>Starts <paramref name="fileName"/>; <paramref name="environment"/> values of null remove a variable.</summary>
    public static ChildProcess Start(
        string fileName,
        IEnumerable<string> arguments,
        IReadOnlyDictionary<string, string?>? environment = null,
        string? workingDirectory = null)
    {
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Path.GetTempPath(),
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
        {
            if (value is null)
            {
                start.Environment.Remove(name);
            }
            else
            {
                start.Environment[name] = value;
            }
        }

        var process = new Process { StartInfo = start };
        var child = new ChildProcess(process) { Name = string.Join(' ', [Path.GetFileName(fileName), .. start.ArgumentList]) };
        process.OutputDataReceived += (_, e) => child.OnStdout(e.Data);
        process.ErrorDataReceived += (_, e) => child.OnStderr(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return child;
    }

    /// <summary>Runs <c>dotnet Herald.Cli.dll …</c> (the CLI built beside the tests).</summary>
    public static ChildProcess StartHerald(IEnumerable<string> arguments, IReadOnlyDictionary<string, string?>? environment = null)
    {
        // Tests choose --hub and --token themselves; values leaking in from the developer's shell would change them.
        var env = new Dictionary<string, string?> { ["HERALD_HUB"] = null, ["HERALD_TOKEN"] = null };
        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
        {
            env[name] = value;
        }

        return Start("dotnet", [Path.Combine(AppContext.BaseDirectory, "Herald.Cli.dll"), .. arguments], env);
    }

    /// <summary>Runs <c>herald …</c> to completion; fails the test when it takes longer than <paramref name="timeout"/>.</summary>
    public static async Task<ChildProcess> RunHeraldAsync(IEnumerable<string> arguments, IReadOnlyDictionary<string, string?>? environment = null, TimeSpan? timeout = null)
    {
        var child = StartHerald(arguments, environment);
        await child.WaitForExitAsync(timeout);
        return child;
    }

    /// <summary>The next line of stdout; fails the test at the deadline, or when the process ends first.</summary>
    public async Task<string> NextLineAsync(TimeSpan? timeout = null)
    {
        using var deadline = new CancellationTokenSource(timeout ?? DefaultTimeout);
        try
        {
            if (await _lines.Reader.WaitToReadAsync(deadline.Token) && _lines.Reader.TryRead(out var line))
            {
                return line;
            }
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            Assert.Fail($"'{Name}' printed no line within {(timeout ?? DefaultTimeout).TotalSeconds} s; stderr: {Stderr}");
        }

        await WaitForExitAsync(timeout);
        Assert.Fail($"'{Name}' exited with {ExitCode} instead of printing another line; stderr: {Stderr}");
        return null!;
    }

    public Task WriteLineAsync(string line) => _process.StandardInput.WriteLineAsync(line).WaitAsync(DefaultTimeout);

    /// <summary>Waits for the process to exit and its output to be read to the end.</summary>
    public async Task WaitForExitAsync(TimeSpan? timeout = null)
    {
        var limit = timeout ?? DefaultTimeout;
        try
        {
            await Task.WhenAll(_process.WaitForExitAsync(), _stdoutClosed.Task, _stderrClosed.Task).WaitAsync(limit);
        }
        catch (TimeoutException)
        {
            Kill();
            Assert.Fail($"'{Name}' did not exit within {limit.TotalSeconds} s; stdout: {Stdout}; stderr: {Stderr}");
        }
    }

    /// <summary>Kills the process and its children, if still running.</summary>
    public void Kill()
    {
        try
        {
            _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already exited.
        }
    }

    public async ValueTask DisposeAsync()
    {
        Kill();
        await _process.WaitForExitAsync().WaitAsync(DefaultTimeout);
        _process.Dispose();
    }

    private void OnStdout(string? line)
    {
        if (line is null)
        {
            _lines.Writer.TryComplete();
            _stdoutClosed.TrySetResult();
            return;
        }

        lock (_stdout)
        {
            _stdout.AppendLine(line);
        }

        _lines.Writer.TryWrite(line);
    }

    private void OnStderr(string? line)
    {
        if (line is null)
        {
            _stderrClosed.TrySetResult();
            return;
        }

        lock (_stderr)
        {
            _stderr.AppendLine(line);
        }
    }
}
