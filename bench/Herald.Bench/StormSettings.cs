namespace Herald.Bench;

/// <summary>The storm workload (f), as given on the command line (the rest is in <see cref="BenchSettings"/>).</summary>
internal sealed record StormSettings
{
    /// <summary>One command line per hub node; node 0 is the one killed.</summary>
    public required IReadOnlyList<string> Serve { get; init; }

    /// <summary>Publishing before the kill.</summary>
    public TimeSpan KillAfter { get; init; }

    /// <summary>Publishing after the hub answers again (longer if some subscriber has not resumed yet).</summary>
    public TimeSpan Seconds { get; init; }

    /// <summary>Where the nodes' output goes.</summary>
    public required string LogDirectory { get; init; }
}
