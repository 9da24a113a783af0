using System.CommandLine.Invocation;

namespace Herald.Bench;

/// <summary>
/// The load generator's own process: <c>herald bench …</c> starts it (so it runs under this project's runtime settings,
/// not the hub's), and it can be run directly: <c>dotnet Herald.Bench.dll --url …</c>.
/// </summary>
internal static class Program
{
    /// <summary>The exit code of a command line that does not parse, as getopt tools (and <c>herald</c>) use.</summary>
    private const int UsageError = 2;

    public static int Main(string[] args)
    {
        var parseResult = BenchCommand.Create().Parse(args);
        if (parseResult.Action is ParseErrorAction)
        {
            // One line naming what to fix and where the help is, like the other herald commands.
            var errors = parseResult.Errors.Select(error => error.Message.Trim().TrimEnd('.')).Distinct(StringComparer.Ordinal);
            parseResult.InvocationConfiguration.Error.WriteLine($"herald bench: {string.Join("; ", errors)} — see 'herald bench --help'");
            return UsageError;
        }

        return parseResult.Invoke();
    }
}
