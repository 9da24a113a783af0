using System.Globalization;
using System.Text;

namespace Herald.Bench;

/// <summary>The figures of one run: printed as text, or as one flat JSON object with <c>--json</c>.</summary>
internal sealed record BenchResult
{
    public required string Url { get; init; }

    public required string Dialect { get; init; }

    /// <summary>How the generator drove its sockets: <c>epoll</c> or <c>runtime</c> (<see cref="SocketApi"/>).</summary>
    public required string Sockets { get; init; }

    public int Subscribers { get; init; }

    public int Processes { get; init; }

    public int SourceAddresses { get; init; }

    public long Connected { get; init; }

    public long Subscribed { get; init; }

    public long SubscriberErrors { get; init; }

    public string? FirstError { get; init; }

    /// <summary>Until every TCP connection was open and its request sent.</summary>
    public double ConnectSeconds { get; init; }

    /// <summary>Until every subscriber had received a warm-up event (so the server had registered it).</summary>
    public double SubscribeSeconds { get; init; }

    public int Updates { get; init; }

    public double RateAsked { get; init; }

    public long Published { get; init; }

    public long PublishFailed { get; init; }

    public double PublishSeconds { get; init; }

    /// <summary>The publish rate kept; equal to <see cref="RateAsked"/> when the server keeps up.</summary>
    public double PublishRate { get; init; }

    public double PublishP50Ms { get; init; }

    public double PublishP99Ms { get; init; }

    public long Expected { get; init; }

    public long Delivered { get; init; }

    public double DeliveryPercent { get; init; }

    /// <summary>Every expected delivery arrived, every subscriber connected and no publish failed.</summary>
    public bool Pass { get; init; }

    public double DeliveriesPerSecond { get; init; }

    public double LatencyP50Ms { get; init; }

    public double LatencyP90Ms { get; init; }

    public double LatencyP99Ms { get; init; }

    public double LatencyMaxMs { get; init; }

    public double? ServerCpuSeconds { get; init; }

    public double? ServerCpuMicrosPerDelivery { get; init; }

    public long? ServerRssBeforeBytes { get; init; }

    public long? ServerRssSubscribedBytes { get; init; }

    public long? ServerRssAfterBytes { get; init; }

    /// <summary>(RSS once all subscribed − RSS before connecting) / subscribers.</summary>
    public double? ServerBytesPerSubscriber { get; init; }

    /// <summary>This generator's own CPU over the same window as the server's (all its processes).</summary>
    public double GeneratorCpuSeconds { get; init; }

    public double? GeneratorCpuMicrosPerDelivery { get; init; }

    public string ToText()
    {
        var c = CultureInfo.InvariantCulture;
        var s = new StringBuilder();
        s.Append(c, $"bench        {Subscribers:N0} subscribers ({Processes} process{(Processes == 1 ? "" : "es")}, {SourceAddresses} source address{(SourceAddresses == 1 ? "" : "es")}) on {Url} [{Dialect}, {Sockets} sockets]\n");
        if (Subscribers > 0)
        {
            s.Append(c, $"connect      {Connected:N0} connected in {ConnectSeconds:F2} s, {Subscribed:N0} subscribed in {SubscribeSeconds:F2} s");
            s.Append(SubscriberErrors > 0 ? string.Create(c, $"; {SubscriberErrors:N0} errors, first: {FirstError}\n") : "\n");
        }

        if (Updates > 0)
        {
            s.Append(c, $"publish      {Published:N0} of {Updates:N0} updates in {PublishSeconds:F2} s = {PublishRate:N1}/s (asked {(RateAsked > 0 ? RateAsked.ToString("N0", c) : "max")}); response p50 {PublishP50Ms:F2} ms p99 {PublishP99Ms:F2} ms");
            s.Append(PublishFailed > 0 ? string.Create(c, $"; {PublishFailed:N0} failed, first: {FirstError}\n") : "\n");
            if (Subscribers > 0)
            {
                s.Append(c, $"delivery     {Delivered:N0} of {Expected:N0} = {DeliveryPercent:F3} % {(Pass ? "OK" : "FAIL")}\n");
                s.Append(c, $"throughput   {DeliveriesPerSecond:N0} deliveries/s\n");
                s.Append(c, $"latency      p50 {LatencyP50Ms:F2} ms  p90 {LatencyP90Ms:F2} ms  p99 {LatencyP99Ms:F2} ms  max {LatencyMaxMs:F2} ms\n");
            }
        }

        if (ServerCpuSeconds is { } cpu)
        {
            s.Append(c, $"server CPU   {cpu:F2} s");
            s.Append(ServerCpuMicrosPerDelivery is { } per ? string.Create(c, $" = {per:F2} µs per delivery\n") : "\n");
        }

        s.Append(c, $"bench CPU    {GeneratorCpuSeconds:F2} s");
        s.Append(GeneratorCpuMicrosPerDelivery is { } own ? string.Create(c, $" = {own:F2} µs per delivery (this generator)\n") : " (this generator)\n");

        if (ServerBytesPerSubscriber is { } perSub)
        {
            s.Append(c, $"server RSS   {Mb(ServerRssBeforeBytes)} MB before, {Mb(ServerRssSubscribedBytes)} MB subscribed, {Mb(ServerRssAfterBytes)} MB after = {perSub / 1024:F2} KB per subscriber\n");
        }

        return s.ToString();

        static string Mb(long? bytes) => ((bytes ?? 0) / 1048576.0).ToString("F1", CultureInfo.InvariantCulture);
    }
}
