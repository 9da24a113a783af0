using System.CommandLine;
using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Herald.Cli.Commands;

/// <summary>
/// <c>herald bench</c>: starts the load generator (bench/Herald.Bench) in a process of its own, with the arguments as
/// given, and returns its exit code. Its own process, not a call into it: the bench then runs under its own
/// runtimeconfig (settings chosen for a load generator), not under this one, whose GC, PGO and thread-pool settings
/// are chosen for the hub. The ProjectReference copies Herald.Bench.dll and its .runtimeconfig.json beside this assembly.
/// </summary>
internal static class BenchCommand
{
    public const string Name = "bench";

    private const string BenchAssembly = "Herald.Bench.dll";

    /// <summary>The entry in <c>herald --help</c>; <see cref="Program"/> hands <c>herald bench …</c> to <see cref="Run"/> before parsing.</summary>
    public static Command Create()
    {
        var command = new Command(Name, "Load-test an SSE server on loopback: many subscribers, paced publishes, latency and server cost ('herald bench --help' for its options).")
        {
            TreatUnmatchedTokensAsErrors = false,
        };
        command.SetAction(result => Run([.. result.UnmatchedTokens]));
        return command;
    }

    /// <summary>Runs the bench with <paramref name="arguments"/> (everything after <c>bench</c>), stdio shared with this process.</summary>
    public static int Run(IReadOnlyList<string> arguments)
    {
        var bench = Path.Combine(AppContext.BaseDirectory, BenchAssembly);
        if (!File.Exists(bench))
        {
            Console.Error.WriteLine($"herald bench: {BenchAssembly} is missing beside {Path.GetFileName(Environment.ProcessPath)}; rebuild or reinstall herald.");
            return 1;
        }

        var start = new ProcessStartInfo(DotnetHost()) { UseShellExecute = false };
        start.ArgumentList.Add(bench);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("could not start the bench process");

        // Ctrl+C reaches both processes (one process group): the bench stops and prints what it has; wait for that.
        Console.CancelKeyPress += (_, e) => e.Cancel = true;

        // Terminated (a test's deadline, a script's kill): take the bench and its workers along.
        using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, _ => Stop(process));
        process.WaitForExit();
        return process.ExitCode;
    }

    private static void Stop(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already exited.
        }
    }

    /// <summary>
    /// The <c>dotnet</c> host: this one under <c>dotnet Herald.Cli.dll</c>; under the tool's apphost, the host of the
    /// runtime this process runs on (shared/Microsoft.NETCore.App/version/ sits three levels below it).
    /// </summary>
    private static string DotnetHost()
    {
        if (Environment.ProcessPath is { } path && Path.GetFileNameWithoutExtension(path) == "dotnet")
        {
            return path;
        }

        var root = Path.GetFullPath(Path.Combine(RuntimeEnvironment.GetRuntimeDirectory(), "..", "..", ".."));
        var host = Path.Combine(root, OperatingSystem.IsWindows() ? "dotnet.exe" : "dotnet");
        return File.Exists(host) ? host : "dotnet";
    }
}
