using System.CommandLine;

namespace Herald.Cli;

internal static class Program
{
    public static int Main(string[] args)
    {
        var root = new RootCommand("Herald: real-time push over Server-Sent Events (a Mercure hub and its tools).");
        root.Subcommands.Add(Bench.BenchCommand.Create());
        return root.Parse(args).Invoke();
    }
}
