using System.CommandLine;
using Herald.Cli.Commands;

namespace Herald.Cli;

internal static class Program
{
    public static int Main(string[] args)
    {
        var root = new RootCommand("Herald: real-time push over Server-Sent Events (a Mercure hub and its tools).");
        root.Subcommands.Add(ServeCommand.Create());
        root.Subcommands.Add(PublishCommand.Create());
        root.Subcommands.Add(SubscribeCommand.Create());
        root.Subcommands.Add(TokenCommand.Create());
        root.Subcommands.Add(Bench.BenchCommand.Create());
        return root.Parse(args).Invoke();
    }
}
