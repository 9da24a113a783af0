using System.CommandLine;
using System.CommandLine.Invocation;
using Herald.Cli.Commands;

namespace Herald.Cli;

internal static class Program
{
    /// <summary>The exit code of a command line that does not parse (a missing or unknown option), as getopt tools use.</summary>
    internal const int UsageError = 2;

    public static int Main(string[] args)
    {
        // `herald bench …` belongs to the load generator's own process and parser (its options, its --help).
        if (args is [BenchCommand.Name, .. var benchArguments])
        {
            return BenchCommand.Run(benchArguments);
        }

        var root = new RootCommand("Herald: real-time push over Server-Sent Events (a Mercure hub and its tools).");
        root.Subcommands.Add(ServeCommand.Create());
        root.Subcommands.Add(PublishCommand.Create());
        root.Subcommands.Add(SubscribeCommand.Create());
        root.Subcommands.Add(TokenCommand.Create());
        root.Subcommands.Add(BenchCommand.Create());

        var parseResult = root.Parse(args);
        if (parseResult.Action is ParseErrorAction)
        {
            // System.CommandLine would print every error and then the whole help text, which buries the one thing to
            // fix; print that thing and where the help is instead.
            parseResult.InvocationConfiguration.Error.WriteLine(DescribeParseError(parseResult));
            return UsageError;
        }

        return parseResult.Invoke();
    }

    /// <summary>
    /// One line: every error (a mistyped word first, since it usually causes the rest), then the help command to run.
    /// </summary>
    internal static string DescribeParseError(ParseResult parseResult)
    {
        var command = CommandPath(parseResult.CommandResult);
        var unmatched = parseResult.UnmatchedTokens;
        var messages = parseResult.Errors
            .Select(error => error.Message.Trim().TrimEnd('.'))
            .Distinct(StringComparer.Ordinal)
            .OrderBy(message => unmatched.Any(token => message.Contains($"'{token}'", StringComparison.Ordinal)) ? 0 : 1);
        return $"{command}: {string.Join("; ", messages)} — see '{command} --help'";
    }

    private static string CommandPath(System.CommandLine.Parsing.CommandResult result)
    {
        var names = new List<string>();
        for (System.CommandLine.Parsing.SymbolResult? current = result; current is not null; current = current.Parent)
        {
            if (current is System.CommandLine.Parsing.CommandResult { Command: var command })
            {
                // The root command is named after the executable; users type 'herald' whatever the host.
                names.Add(command is RootCommand ? "herald" : command.Name);
            }
        }

        names.Reverse();
        return string.Join(' ', names);
    }
}
