using System.Diagnostics;
using System.Text.Json;
using Herald.Mercure;

namespace Herald.Cli.Demos;

/// <summary>
/// Publishes the hub's own live figures on <see cref="DemoTopics.Metrics"/> every second while a dashboard
/// subscribes to that topic.
/// </summary>
/// <remarks>
/// The figures go straight to the dispatcher (<see cref="MercureHub.Deliver"/>), not through
/// <see cref="IHeraldPublisher"/>: they are worth something only live, and a stored copy every second would
/// crowd real updates out of history. So they also stay on the node that measured them, which is what a
/// per-node dashboard wants in a cluster.
/// </remarks>
internal sealed class HubFiguresPublisher(MercureHub hub) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    /// <summary>The SSE event type of a figures update.</summary>
    public const string EventType = "figures";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var started = Stopwatch.GetTimestamp();
        var previous = Reading.Take(hub.Metrics);
        using var timer = new PeriodicTimer(Interval);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            var current = Reading.Take(hub.Metrics);
            var figures = HubFigures.Between(previous, current, hub, Stopwatch.GetElapsedTime(started));
            previous = current;

            // Only while a dashboard watches: otherwise a `topic=*` subscriber would get figures it never asked for.
            if (!hub.Dispatcher.HasExactSubscriber(DemoTopics.Metrics))
            {
                continue;
            }

            hub.Broadcast(new Update
            {
                Topics = [DemoTopics.Metrics],
                Data = JsonSerializer.Serialize(figures, Json),
                EventType = EventType,
            });
        }
    }

    /// <summary>Counters at one instant; two of them make the rates.</summary>
    private readonly record struct Reading(long Timestamp, long Published, long Reached, long Deliveries, TimeSpan Cpu, long Allocated)
    {
        public static Reading Take(HubMetrics metrics) => new(
            Stopwatch.GetTimestamp(),
            metrics.Published,
            metrics.Reached,
            metrics.Deliveries,
            Environment.CpuUsage.TotalTime,
            GC.GetTotalAllocatedBytes());
    }

    /// <summary>One second of the hub, as the dashboard reads it (JSON, camelCase).</summary>
    /// <param name="Time">When measured (Unix ms).</param>
    /// <param name="UptimeSeconds">Since the hub started.</param>
    /// <param name="Subscribers">Streams connected to this node.</param>
    /// <param name="UpdatesIn">Updates published per second (HTTP and app code, this feed included).</param>
    /// <param name="UpdatesOut">Updates per second that reached at least one subscriber.</param>
    /// <param name="Deliveries">Frames queued to subscribers per second (one per subscriber per update).</param>
    /// <param name="P50Micros">Median dispatch latency (encode and fan-out), upper bound of its histogram bucket.</param>
    /// <param name="P99Micros">99th percentile dispatch latency.</param>
    /// <param name="HeapBytes">Managed heap in use.</param>
    /// <param name="WorkingSetBytes">The process's resident memory.</param>
    /// <param name="AllocatedBytesPerSecond">Managed allocation rate.</param>
    /// <param name="CpuPercent">Process CPU time over wall time, as a share of all <paramref name="Cores"/>.</param>
    /// <param name="Cores">Processors the process may use.</param>
    private sealed record HubFigures(
        long Time,
        double UptimeSeconds,
        int Subscribers,
        double UpdatesIn,
        double UpdatesOut,
        double Deliveries,
        double P50Micros,
        double P99Micros,
        long HeapBytes,
        long WorkingSetBytes,
        double AllocatedBytesPerSecond,
        double CpuPercent,
        int Cores)
    {
        public static HubFigures Between(Reading before, Reading after, MercureHub hub, TimeSpan uptime)
        {
            var seconds = Math.Max(Stopwatch.GetElapsedTime(before.Timestamp, after.Timestamp).TotalSeconds, 1e-3);
            double Rate(long from, long to) => Math.Round(Math.Max(0, to - from) / seconds, 1);
            var (p50, p99) = hub.Metrics.TakeLatencyPercentiles();
            var cores = Environment.ProcessorCount;
            var cpu = (after.Cpu - before.Cpu).TotalSeconds / (seconds * cores) * 100;
            return new HubFigures(
                DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
                Math.Round(uptime.TotalSeconds),
                hub.SubscriberCount,
                Rate(before.Published, after.Published),
                Rate(before.Reached, after.Reached),
                Rate(before.Deliveries, after.Deliveries),
                p50,
                p99,
                GC.GetTotalMemory(forceFullCollection: false),
                Environment.WorkingSet,
                Rate(before.Allocated, after.Allocated),
                Math.Round(Math.Clamp(cpu, 0, 100), 1),
                cores);
        }
    }
}
