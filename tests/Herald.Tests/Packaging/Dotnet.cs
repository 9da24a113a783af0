using Herald.Tests.Client;

namespace Herald.Tests.Packaging;

/// <summary>
/// The <c>dotnet</c> command as a user runs it in a shell: without the MSBuild variables <c>dotnet test</c> sets for
/// its own build, without build servers that would outlive the test, and with a NuGet package folder of the test's
/// choosing, so that what the test packs never reaches the machine's package cache.
/// </summary>
internal static class Dotnet
{
    /// <summary>Generous: the first restore on a fresh machine downloads the dependencies, and the machine is shared.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromMinutes(10);

    /// <summary>Runs <c>dotnet …</c> in <paramref name="workingDirectory"/> to completion; fails the test on a non-zero exit.</summary>
    public static async Task<ChildProcess> RunAsync(string workingDirectory, string? packagesFolder, params string[] arguments)
    {
        var child = ChildProcess.Start(Host(), arguments, Environment(packagesFolder), workingDirectory);
        await using (child)
        {
            await child.WaitForExitAsync(Timeout);
            Assert.True(child.ExitCode == 0, $"'{child.Name}' exited with {child.ExitCode}:\n{Tail(child.Stdout)}\n{Tail(child.Stderr)}");
        }

        return child;
    }

    /// <summary>Starts <paramref name="program"/> (an installed tool, a built app) with the same environment.</summary>
    public static ChildProcess Start(
        string program, IEnumerable<string> arguments, string workingDirectory, IReadOnlyDictionary<string, string?>? extra = null)
    {
        var environment = Environment(packagesFolder: null);
        foreach (var (name, value) in extra ?? new Dictionary<string, string?>())
        {
            environment[name] = value;
        }

        return ChildProcess.Start(program, arguments, environment, workingDirectory);
    }

    /// <summary>The <c>dotnet</c> host running this test, so the test packs with the SDK that built it.</summary>
    public static string Host()
        => System.Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";

    private static Dictionary<string, string?> Environment(string? packagesFolder)
    {
        var environment = new Dictionary<string, string?>(StringComparer.Ordinal)
        {
            ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
            ["DOTNET_NOLOGO"] = "1",
            ["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1",

            // Build servers (MSBuild nodes, the compiler server) would outlive the command and hold its output open.
            ["MSBUILDDISABLENODEREUSE"] = "1",
            ["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0",
            ["UseSharedCompilation"] = "false",

            // The hub under test picks these up as settings; a value from the developer's shell would change it.
            ["HERALD_HUB"] = null,
            ["HERALD_TOKEN"] = null,
        };

        // dotnet test runs inside MSBuild's environment; a nested build would take its SDK paths and targets from it.
        foreach (var name in System.Environment.GetEnvironmentVariables().Keys.Cast<string>())
        {
            if (name.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase) && name != "MSBUILDDISABLENODEREUSE")
            {
                environment[name] = null;
            }
        }

        // A tool's launcher finds the runtime through DOTNET_ROOT when dotnet is not where the launcher looks by default.
        if (Path.GetDirectoryName(Path.GetFullPath(Host())) is { } root && File.Exists(Path.Combine(root, "dotnet")))
        {
            environment["DOTNET_ROOT"] = root;
        }

        if (packagesFolder is not null)
        {
            environment["NUGET_PACKAGES"] = packagesFolder;
        }

        return environment;
    }

    private static string Tail(string output) => output.Length <= 4000 ? output : output[^4000..];
}
