namespace Herald.Bench;

/// <summary>Subscribers held either in this process or by a worker process.</summary>
internal interface IFleet
{
    FleetCounters Read();

    Task<FleetReport> StopAsync();
}
