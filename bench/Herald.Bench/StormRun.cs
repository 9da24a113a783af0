using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;

namespace Herald.Bench;

/// <summary>
/// The reconnect storm (f): start the hub node(s), connect every subscriber, warm up, publish numbered updates at the
/// rate, SIGKILL node 0 and (one node) start it again on the same port and data directory, let every cut subscriber
/// reconnect at once with its last id, keep publishing, stop, wait for every subscriber to hold every acknowledged
/// update, count what was lost or duplicated, and stop the nodes.
/// </summary>
internal sealed class StormRun
{
    private const int Victim = 0;
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(20);
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(120);

    private readonly BenchSettings _settings;
    private readonly StormSettings _storm;
    private volatile string _phase = "starting";

    private StormRun(BenchSettings settings, StormSettings storm) => (_settings, _storm) = (settings, storm);

    public static Task<int> RunAsync(BenchSettings settings, StormSettings storm, CancellationToken cancellationToken)
    {
        if (settings.Subscribers is < 1 or > BenchRun.PerProcess)
        {
            throw new BenchException($"--storm-serve: 1 to {BenchRun.PerProcess:N0} subscribers (one process holds them all).");
        }

        if (settings.Rate <= 0 || settings.Dialect != PublishDialect.Mercure || settings.Sockets != SocketApi.Epoll || settings.Subscribe.Tls)
        {
            throw new BenchException("--storm-serve: needs --rate above 0, --dialect mercure, --sockets epoll (Linux) and an http:// --url.");
        }

        return new StormRun(settings, storm).RunAsync(cancellationToken);
    }

    private async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        var s = _settings;
        var prefix = $"storm-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}-";
        using var hubs = StormHubs.Create(_storm.Serve, _storm.LogDirectory);
        var nodes = hubs.Nodes.Count;
        int[]? survivors = nodes > 1 ? [.. Enumerable.Range(0, nodes).Where(n => n != Victim)] : null;

        // Publish to a node that survives (the last one); with one node, to it.
        var settings = s with { Publish = s.Publish with { EndPoint = hubs.Nodes[nodes - 1], HostHeader = hubs.Nodes[nodes - 1].ToString() } };
        for (var n = 0; n < nodes; n++)
        {
            hubs.Start(n);
        }

        for (var n = 0; n < nodes; n++)
        {
            await hubs.WaitAnsweringAsync(n, StartTimeout, cancellationToken);
        }

        var capacity = (long)(s.Rate * (_storm.KillAfter + _storm.Seconds + s.ConnectTimeout + StartTimeout).TotalSeconds) + 16;
        using var publisher = new StormPublisher(settings, prefix, capacity);
        var fleet = new StormFleet(settings, hubs.Nodes, prefix);
        using var progressStop = new CancellationTokenSource();
        var progress = Task.Run(() => ShowProgressAsync(fleet, publisher, progressStop.Token), CancellationToken.None);
        var stopped = false;
        try
        {
            _phase = "connecting";
            fleet.Start();
            var deadline = Stopwatch.GetTimestamp() + Ticks(s.ConnectTimeout);
            while (fleet.Connected < s.Subscribers && Stopwatch.GetTimestamp() < deadline)
            {
                await Task.Delay(Poll, cancellationToken);
            }

            _phase = "subscribing";
            deadline = Stopwatch.GetTimestamp() + Ticks(s.ConnectTimeout);
            while (fleet.Subscribed < s.Subscribers && Stopwatch.GetTimestamp() < deadline)
            {
                if (publisher.WarmUp() is { } error)
                {
                    throw new BenchException($"the warm-up publish failed: {error}");
                }

                await Task.Delay(TimeSpan.FromMilliseconds(250), cancellationToken);
            }

            _phase = "publishing";
            var publishing = publisher.RunAsync();
            await Task.Delay(_storm.KillAfter, cancellationToken);

            _phase = "killed";
            publisher.Phase = nodes > 1 ? StormPhase.Storm : StormPhase.Down;
            fleet.OnKill(Victim, survivors);
            hubs.Kill(Victim);
            var killedAt = fleet.KilledAt;
            var answeredAt = Stopwatch.GetTimestamp();
            if (nodes == 1)
            {
                _phase = "restarting";
                hubs.Start(Victim);
                answeredAt = await hubs.WaitAnsweringAsync(Victim, StartTimeout, cancellationToken);
                fleet.OnNodeUp(Victim);
                publisher.Phase = StormPhase.Storm;
            }

            // Publish for the storm's length after the hub answers, and on until every subscriber has a live update.
            _phase = "storm";
            var stormEnd = answeredAt + Ticks(_storm.Seconds);
            var giveUp = stormEnd + Ticks(s.ConnectTimeout);
            var resumed = false;
            while (Stopwatch.GetTimestamp() < giveUp && !(resumed && Stopwatch.GetTimestamp() >= stormEnd))
            {
                if (!resumed && fleet.Subscribers.All(x => x.FirstLiveAt > 0))
                {
                    // The storm is over: publishes from now on are the calm after it.
                    resumed = true;
                    publisher.Phase = StormPhase.After;
                }

                await Task.Delay(Poll, cancellationToken);
            }

            publisher.Stop();
            await publishing.WaitAsync(StormPublisher.AnswerGrace + TimeSpan.FromSeconds(30), cancellationToken);

            _phase = "draining";
            var stoppedAt = Stopwatch.GetTimestamp();
            var acknowledged = publisher.Acknowledged;
            var last = publisher.Last;
            var checkedUpTo = new long[s.Subscribers];
            double? completeSeconds = null;
            var drainUntil = stoppedAt + Ticks(s.Drain);
            while (true)
            {
                var all = true;
                for (var i = 0; i < s.Subscribers && all; i++)
                {
                    all = fleet.Subscribers[i].HoldsAll(acknowledged, last, ref checkedUpTo[i]);
                }

                if (all)
                {
                    completeSeconds = Stopwatch.GetElapsedTime(stoppedAt).TotalSeconds;
                    break;
                }

                if (Stopwatch.GetTimestamp() > drainUntil)
                {
                    break;
                }

                await Task.Delay(Poll, cancellationToken);
            }

            var peakRss = nodes == 1 ? hubs.PeakRssBytes(Victim) : survivors!.Max(hubs.PeakRssBytes);
            _phase = "stopping";
            fleet.Stop();
            stopped = true;
            await progressStop.CancelAsync();
            await progress;

            var result = Summarize(fleet, publisher, nodes, killedAt, answeredAt, completeSeconds, peakRss, hubs.LogDirectory);
            publisher.WriteLog(Path.Combine(hubs.LogDirectory, "storm-publishes.tsv"), answeredAt);
            Console.Out.Write(s.Json ? JsonSerializer.Serialize(result, BenchJsonContext.Default.StormResult) + "\n" : result.ToText());
            return result.Pass ? 0 : 1;
        }
        finally
        {
            await progressStop.CancelAsync();
            if (!stopped)
            {
                publisher.Stop();
                fleet.Stop();
            }
        }
    }

    private StormResult Summarize(
        StormFleet fleet, StormPublisher publisher, int nodes, long killedAt, long answeredAt, double? completeSeconds, long peakRss, string logDirectory)
    {
        var s = _settings;
        var acknowledged = publisher.Acknowledged;
        var last = publisher.Last;
        long lost = 0, gaps = 0, duplicated = 0, incomplete = 0, unacknowledged = 0;
        var resumes = new List<double>();
        long unresumed = 0;
        foreach (var subscriber in fleet.Subscribers)
        {
            var missing = subscriber.CountMissing(acknowledged, last);
            lost += missing;
            gaps += missing > 0 ? subscriber.CountGaps(acknowledged) : 0;
            incomplete += missing > 0 ? 1 : 0;
            duplicated += subscriber.Duplicates;
            unacknowledged += subscriber.CountUnacknowledged(acknowledged);
            if (subscriber.Index % nodes == Victim)
            {
                if (subscriber.FirstLiveAt > 0)
                {
                    resumes.Add(Stopwatch.GetElapsedTime(answeredAt, Math.Max(answeredAt, subscriber.FirstLiveAt)).TotalSeconds);
                }
                else
                {
                    unresumed++;
                }
            }
        }

        resumes.Sort();
        var storm = publisher.Latency[(int)StormPhase.Storm].Snapshot();
        var calm = publisher.Latency[(int)StormPhase.Calm].Snapshot();
        var after = publisher.Latency[(int)StormPhase.After].Snapshot();
        var cut = fleet.Subscribers.Count(x => x.Index % nodes == Victim);
        return new StormResult
        {
            Url = s.SubscribeUrl,
            Nodes = nodes,
            Subscribers = s.Subscribers,
            RateAsked = s.Rate,
            Connected = fleet.Connected,
            Subscribed = fleet.Subscribed,
            Cut = cut,
            Reconnects = fleet.Reconnects,
            RefusedAttempts = fleet.Refused,
            HubDownSeconds = nodes == 1 ? Stopwatch.GetElapsedTime(killedAt, answeredAt).TotalSeconds : 0,
            ResumeSeconds = unresumed == 0 && resumes.Count > 0 ? resumes[^1] : null,
            ResumeP50Seconds = resumes.Count > 0 ? resumes[resumes.Count / 2] : null,
            ReconnectSeconds = fleet.LastAnswerAt > 0 ? Stopwatch.GetElapsedTime(answeredAt, Math.Max(answeredAt, fleet.LastAnswerAt)).TotalSeconds : null,
            Unresumed = unresumed,
            Published = publisher.Succeeded,
            PublishFailedWhileDown = publisher.FailedIn(StormPhase.Down),
            PublishFailed = publisher.FailedIn(StormPhase.Calm) + publisher.FailedIn(StormPhase.Storm) + publisher.FailedIn(StormPhase.After),
            FirstPublishError = publisher.FirstError,
            PublishCalmP99Ms = calm.Percentile(0.99) / 1000.0,
            PublishStormP50Ms = storm.Percentile(0.5) / 1000.0,
            PublishStormP99Ms = storm.Percentile(0.99) / 1000.0,
            PublishStormMaxMs = storm.Max / 1000.0,
            PublishStormCount = storm.Total,
            PublishAfterP99Ms = after.Percentile(0.99) / 1000.0,
            Lost = lost,
            Gaps = gaps,
            Duplicated = duplicated,
            SubscribersIncomplete = incomplete,
            UnacknowledgedReceived = unacknowledged,
            CompleteSeconds = completeSeconds,
            HubPeakRssBytes = peakRss,
            SubscriberErrors = fleet.Errors,
            FirstError = fleet.FirstError,
            LogDirectory = logDirectory,
            Pass = lost == 0 && duplicated == 0 && unresumed == 0 && fleet.Connected == s.Subscribers
                && fleet.Subscribed == s.Subscribers && fleet.Errors == 0,
        };
    }

    private static long Ticks(TimeSpan span) => (long)(span.TotalSeconds * Stopwatch.Frequency);

    /// <summary>A status line on stderr every 2 s (the storm lasts tens of seconds; a terminal gets the same lines).</summary>
    private async Task ShowProgressAsync(StormFleet fleet, StormPublisher publisher, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(2));
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                var resumed = fleet.KilledAt > 0 ? fleet.Subscribers.Count(x => x.FirstLiveAt > 0) : 0;
                await Console.Error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                    $"[{_phase} {Stopwatch.GetElapsedTime(started).TotalSeconds:F1}s] connected {fleet.Connected:N0}/{_settings.Subscribers:N0} subscribed {fleet.Subscribed:N0} published {publisher.Last:N0} acknowledged {publisher.Succeeded:N0} dropped {fleet.Dropped:N0} reconnected {fleet.Reconnects:N0} refused {fleet.Refused:N0} live {resumed:N0} errors {fleet.Errors:N0}"));
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
