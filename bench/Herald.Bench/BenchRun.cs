using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace Herald.Bench;

/// <summary>
/// One measured run: connect every subscriber, publish warm-up events until each has seen one (so the server
/// has surely registered it), sample the server, publish the measured updates on schedule, wait for them to
/// drain, sample the server again, then gather every process's histogram.
/// </summary>
internal sealed class BenchRun
{
    /// <summary>Subscribers one process holds before the rest go to worker processes (20,000 open files each).</summary>
    public const int PerProcess = 18_000;

    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(10);

    private readonly BenchSettings _settings;
    private readonly List<IFleet> _fleets = [];
    private readonly long _started = Stopwatch.GetTimestamp();
    private Publisher? _publisher;
    private volatile string _phase = "connecting";

    private BenchRun(BenchSettings settings) => _settings = settings;

    public static Task<int> RunAsync(BenchSettings settings, CancellationToken cancellationToken)
        => new BenchRun(settings).RunAsync(cancellationToken);

    private async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        var s = _settings;
        var server = ServerProcessStats.For(s.ServerPids);
        var before = server?.Read();
        var processes = s.Processes > 0 ? s.Processes : s.Subscribers > PerProcess ? (s.Subscribers + PerProcess - 1) / PerProcess : 0;

        using var publisher = new Publisher(s);
        _publisher = publisher;
        using var progressStop = new CancellationTokenSource();
        var progress = Task.Run(() => ShowProgressAsync(progressStop.Token), CancellationToken.None);
        var connect = Task.CompletedTask;
        try
        {
            if (processes == 0)
            {
                var local = new SubscriberFleet(s, s.Subscribers, 0);
                _fleets.Add(local);
                connect = local.ConnectAllAsync(cancellationToken);
            }
            else
            {
                var first = 0;
                for (var w = 0; w < processes; w++)
                {
                    var count = (s.Subscribers / processes) + (w < s.Subscribers % processes ? 1 : 0);
                    _fleets.Add(WorkerFleet.Start(s, count, first));
                    first += count;
                }
            }

            var deadline = Stopwatch.GetTimestamp() + (long)(s.ConnectTimeout.TotalSeconds * Stopwatch.Frequency);
            while (Sum().Connected + Sum().Errors < s.Subscribers && Stopwatch.GetTimestamp() < deadline)
            {
                await Task.Delay(Poll, cancellationToken);
            }

            var connectSeconds = Stopwatch.GetElapsedTime(_started).TotalSeconds;

            _phase = "subscribing";
            if (s.Subscribers > 0)
            {
                await WarmUpAsync(publisher, deadline + (long)(s.ConnectTimeout.TotalSeconds * Stopwatch.Frequency), cancellationToken);
            }

            var subscribeSeconds = Stopwatch.GetElapsedTime(_started).TotalSeconds;
            if (s.Hold > TimeSpan.Zero)
            {
                _phase = "holding";
                await Task.Delay(s.Hold, cancellationToken);
            }

            var subscribed = server?.Read();
            var generatorCpuBefore = GeneratorCpuSeconds();

            PublishReport? published = null;
            if (s.Updates > 0)
            {
                _phase = "publishing";
                published = await publisher.RunAsync(cancellationToken);
                _phase = "draining";
                var expected = s.Subscribers * published.Succeeded;
                var drainUntil = Stopwatch.GetTimestamp() + (long)(s.Drain.TotalSeconds * Stopwatch.Frequency);
                while (Sum().Received < expected && Stopwatch.GetTimestamp() < drainUntil)
                {
                    await Task.Delay(Poll, cancellationToken);
                }
            }

            var after = server?.Read();
            var generatorCpu = GeneratorCpuSeconds() - generatorCpuBefore;
            _phase = "stopping";
            var reports = await Task.WhenAll(_fleets.Select(f => f.StopAsync()));
            await connect;
            await progressStop.CancelAsync();
            await progress;

            var result = Summarize(reports, published, connectSeconds, subscribeSeconds, before, subscribed, after) with
            {
                GeneratorCpuSeconds = generatorCpu,
            };
            if (result.Delivered > 0)
            {
                result = result with { GeneratorCpuMicrosPerDelivery = generatorCpu * 1e6 / result.Delivered };
            }

            Console.Out.Write(s.Json ? JsonSerializer.Serialize(result, BenchJsonContext.Default.BenchResult) + "\n" : result.ToText());
            return result.Pass ? 0 : 1;
        }
        finally
        {
            await progressStop.CancelAsync();
            if (_phase != "stopping")
            {
                await Task.WhenAll(_fleets.Select(f => f.StopAsync()));
            }
        }
    }

    private async Task WarmUpAsync(Publisher publisher, long deadline, CancellationToken cancellationToken)
    {
        while (Stopwatch.GetTimestamp() < deadline)
        {
            var error = await publisher.WarmUpAsync(cancellationToken);
            if (error is not null)
            {
                throw new BenchException($"the warm-up publish failed: {error}");
            }

            // Give the event time to arrive before sending another; stop as soon as everyone has one.
            var next = Stopwatch.GetTimestamp() + (Stopwatch.Frequency / 4);
            while (Stopwatch.GetTimestamp() < next)
            {
                var c = Sum();
                if (c.Subscribed + c.Errors >= _settings.Subscribers)
                {
                    return;
                }

                await Task.Delay(Poll, cancellationToken);
            }
        }
    }

    private BenchResult Summarize(
        FleetReport[] reports, PublishReport? published, double connectSeconds, double subscribeSeconds,
        ServerSample? before, ServerSample? subscribed, ServerSample? after)
    {
        var s = _settings;
        var latency = new Histogram();
        var counters = default(FleetCounters);
        string? firstError = null;
        foreach (var report in reports)
        {
            latency.Add(report.Latency);
            counters += report.Counters;
            firstError ??= report.FirstError;
        }

        firstError ??= published?.FirstError;
        var delivered = latency.Total;
        var expected = s.Subscribers * (published?.Succeeded ?? 0);
        var publishFailed = published?.Failed ?? 0;
        var deliverySeconds = published is null || latency.LastTimestamp == 0
            ? 0
            : Stopwatch.GetElapsedTime(published.FirstTimestamp, latency.LastTimestamp).TotalSeconds;
        double? cpu = subscribed is { } a && after is { } b ? b.CpuSeconds - a.CpuSeconds : null;

        return new BenchResult
        {
            Url = s.SubscribeUrl,
            Dialect = s.Dialect.ToString().ToLowerInvariant(),
            // Subscribers over TLS read through SslStream on the runtime's sockets whatever --sockets says.
            Sockets = s.Subscribe.Tls ? "tls over runtime" : s.Sockets.ToString().ToLowerInvariant(),
            Subscribers = s.Subscribers,
            Processes = Math.Max(1, reports.Length),
            SourceAddresses = s.SourceAddresses,
            Connected = counters.Connected,
            Subscribed = counters.Subscribed,
            SubscriberErrors = counters.Errors,
            FirstError = firstError,
            ConnectSeconds = connectSeconds,
            SubscribeSeconds = subscribeSeconds,
            Updates = s.Updates,
            RateAsked = s.Rate,
            Published = published?.Succeeded ?? 0,
            PublishFailed = publishFailed,
            PublishSeconds = published?.Seconds ?? 0,
            PublishRate = published?.UpdatesPerSecond ?? 0,
            PublishP50Ms = (published?.Latency.Percentile(0.5) ?? 0) / 1000.0,
            PublishP99Ms = (published?.Latency.Percentile(0.99) ?? 0) / 1000.0,
            Expected = expected,
            Delivered = delivered,
            DeliveryPercent = expected > 0 ? 100.0 * delivered / expected : 0,
            Pass = counters.Connected == s.Subscribers && counters.Subscribed == s.Subscribers && counters.Errors == 0
                && publishFailed == 0 && delivered == expected && (s.Updates == 0 || (published?.Succeeded ?? 0) == s.Updates),
            DeliveriesPerSecond = deliverySeconds > 0 ? delivered / deliverySeconds : 0,
            LatencyP50Ms = latency.Percentile(0.5) / 1000.0,
            LatencyP90Ms = latency.Percentile(0.9) / 1000.0,
            LatencyP99Ms = latency.Percentile(0.99) / 1000.0,
            LatencyMaxMs = latency.Max / 1000.0,
            ServerCpuSeconds = cpu,
            ServerCpuMicrosPerDelivery = cpu is { } c && delivered > 0 ? c * 1e6 / delivered : null,
            ServerRssBeforeBytes = before?.RssBytes,
            ServerRssSubscribedBytes = subscribed?.RssBytes,
            ServerRssAfterBytes = after?.RssBytes,
            ServerBytesPerSubscriber = before is { } r0 && subscribed is { } r1 && s.Subscribers > 0
                ? (double)(r1.RssBytes - r0.RssBytes) / s.Subscribers
                : null,
        };
    }

    /// <summary>CPU time of this process and of its worker processes (as they last reported it).</summary>
    private double GeneratorCpuSeconds() => Environment.CpuUsage.TotalTime.TotalSeconds + Sum().CpuSeconds;

    private FleetCounters Sum()
    {
        var sum = default(FleetCounters);
        foreach (var fleet in _fleets)
        {
            sum += fleet.Read();
        }

        return sum;
    }

    /// <summary>A live status line on stderr: rewritten in place on a terminal, a line every 2 s otherwise.</summary>
    private async Task ShowProgressAsync(CancellationToken cancellationToken)
    {
        var terminal = !Console.IsErrorRedirected;
        var interval = TimeSpan.FromMilliseconds(terminal ? 250 : 2000);
        long lastReceived = 0;
        var lastTime = Stopwatch.GetTimestamp();
        using var timer = new PeriodicTimer(interval);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                var c = Sum();
                var now = Stopwatch.GetTimestamp();
                var rate = (c.Received - lastReceived) / Stopwatch.GetElapsedTime(lastTime, now).TotalSeconds;
                (lastReceived, lastTime) = (c.Received, now);
                var published = _publisher?.Started ?? 0;
                var expected = published * _settings.Subscribers;
                var line = string.Create(CultureInfo.InvariantCulture,
                    $"[{_phase} {Stopwatch.GetElapsedTime(_started).TotalSeconds:F1}s] connected {c.Connected:N0}/{_settings.Subscribers:N0} subscribed {c.Subscribed:N0} published {published:N0}/{_settings.Updates:N0} delivered {c.Received:N0}{(expected > 0 ? string.Create(CultureInfo.InvariantCulture, $" ({100.0 * c.Received / expected:F1}%)") : "")} {rate:N0}/s errors {c.Errors:N0}");
                await Console.Error.WriteAsync(terminal ? "\r" + line.PadRight(140) : line + "\n");
            }
        }
        catch (OperationCanceledException)
        {
        }

        if (terminal)
        {
            await Console.Error.WriteAsync("\r" + new string(' ', 140) + "\r");
        }
    }
}
