namespace Herald.Bench;

/// <summary>Where a storm run is when a publish is sent: its answer is counted there.</summary>
internal enum StormPhase
{
    /// <summary>Before the kill: the hub's calm figure.</summary>
    Calm,

    /// <summary>From the kill until the restarted hub answers (a single hub only): publishes fail.</summary>
    Down,

    /// <summary>From the hub answering again (or, in a cluster, the kill) until every cut subscriber is live again: the storm.</summary>
    Storm,

    /// <summary>After the storm, until publishing stops.</summary>
    After,
}
