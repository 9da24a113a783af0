using System.Diagnostics;
using System.Diagnostics.Metrics;
using Herald.Dispatch;
using Herald.Mercure;
using Microsoft.AspNetCore.Http;

namespace Herald.Diagnostics;

/// <summary>
/// The hub's instruments on the <c>Herald</c> meter (<see cref="MeterName"/>), named and unit-ed in OpenTelemetry's
/// semantic-convention style. An app collects them with <c>AddMeter("Herald")</c>; <c>herald serve</c> exports them.
/// </summary>
/// <remarks>
/// Nothing here runs per delivery. Deliveries and dispatched updates are read from <see cref="HubMetrics"/>'s running
/// counters when a collector asks (observable instruments cost nothing in between); subscriptions are counted when they
/// open and close, publishes once per publish, dispatch lag once per stored update. Every tag set is built once here,
/// so recording allocates nothing; an instrument nobody listens to records nothing (<see cref="Instrument.Enabled"/>).
/// </remarks>
internal sealed class HeraldMetrics : IDisposable
{
    /// <summary>The meter's name: what <c>AddMeter</c> takes.</summary>
    public const string MeterName = "Herald";

    private const string ServerTag = "herald.subscription.server";
    private const string ReasonTag = "herald.close.reason";
    private const string OutcomeTag = "herald.publish.outcome";
    private const string StatusTag = "http.response.status_code";

    /// <summary>Bucket bounds (seconds) for durations that are usually well under a millisecond and at worst seconds.</summary>
    private static readonly IReadOnlyList<double> SecondsBuckets =
        [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    /// <summary>The refusals a publish meets (Mercure and Herald's own): their tags are built once.</summary>
    private static readonly int[] KnownRefusals = [400, 401, 403, 404, 405, 409, 413, 415, 429, 500];

    private readonly Meter _meter;
    private readonly bool _ownsMeter;
    private readonly TimeProvider _time;
    private readonly long[] _active = new long[2];
    private readonly Counter<long> _opened;
    private readonly Counter<long> _closed;
    private readonly Counter<long> _published;
    private readonly Histogram<double> _publishDuration;
    private readonly Histogram<double> _appendDuration;
    private readonly Histogram<double> _dispatchLag;
    private readonly KeyValuePair<string, object?>[][] _serverTags;
    private readonly KeyValuePair<string, object?>[][] _closeTags;
    private readonly KeyValuePair<string, object?>[] _stored;
    private readonly KeyValuePair<string, object?>[] _unavailable;
    private readonly Dictionary<int, KeyValuePair<string, object?>[]> _refused = [];

    /// <summary>
    /// Builds the instruments on a meter from <paramref name="meterFactory"/> (the app's, so a collector can tell two
    /// hosts' hubs apart by <see cref="Meter.Scope"/>), or on a meter of its own when there is no factory.
    /// </summary>
    public HeraldMetrics(IMeterFactory? meterFactory, HubMetrics running, TimeProvider time)
    {
        var version = typeof(HeraldMetrics).Assembly.GetName().Version?.ToString();
        var options = new MeterOptions(MeterName) { Version = version };
        _ownsMeter = meterFactory is null;
        _meter = meterFactory?.Create(options) ?? new Meter(options);
        _time = time;

        _serverTags = [Tags((ServerTag, "kestrel")), Tags((ServerTag, "direct"))];
        var reasons = Enum.GetValues<CloseReason>();
        _closeTags = new KeyValuePair<string, object?>[2 * reasons.Length][];
        for (var server = 0; server < 2; server++)
        {
            foreach (var reason in reasons)
            {
                _closeTags[(server * reasons.Length) + (int)reason] = Tags((ServerTag, server == 0 ? "kestrel" : "direct"), (ReasonTag, ReasonName(reason)));
            }
        }

        _stored = Tags((OutcomeTag, "stored"));
        _unavailable = Tags((OutcomeTag, "store_unavailable"));
        foreach (var status in KnownRefusals)
        {
            _refused[status] = Refused(status);
        }

        _meter.CreateObservableUpDownCounter(
            "herald.subscriptions.active",
            () => (Measurement<long>[])[new(Volatile.Read(ref _active[0]), _serverTags[0]), new(Volatile.Read(ref _active[1]), _serverTags[1])],
            "{subscription}",
            "Subscriptions open on this node, by the server that serves them (kestrel: Kestrel's HTTP layer; direct: Herald's own socket path).");
        _opened = _meter.CreateCounter<long>("herald.subscriptions.opened", "{subscription}", "Subscriptions opened (registered with the dispatcher).");
        _closed = _meter.CreateCounter<long>(
            "herald.subscriptions.closed",
            "{subscription}",
            "Subscriptions closed, by reason: client_left, too_slow, token_expired, write_timeout, shutdown, write_failed, server_closed.");
        _published = _meter.CreateCounter<long>(
            "herald.updates.published",
            "{update}",
            "Publishes the HTTP endpoint answered, by outcome: stored, refused (with the HTTP status) or store_unavailable.");
        _publishDuration = Seconds("herald.publish.duration", "Time to answer a publish, from the request to its answer, by outcome.");
        _appendDuration = Seconds("herald.store.append.duration", "Time the history store takes to append an update (durable when it returns).");
        _dispatchLag = Seconds(
            "herald.dispatch.lag",
            "Time from an update being stored to its frame being queued on every subscriber it concerns; in a cluster it includes this node's reader lag.");
        _meter.CreateObservableCounter("herald.deliveries", () => running.Deliveries, "{delivery}", "Updates queued on subscribers (one per subscriber per update).");
        _meter.CreateObservableCounter("herald.updates.dispatched", () => running.Published, "{update}", "Updates this node dispatched to its subscribers (in a cluster: every node's updates).");
    }

    /// <summary>Whether anything listens to the publish instruments, so a publish is worth timing.</summary>
    public bool PublishObserved => _published.Enabled || _publishDuration.Enabled;

    /// <summary>Whether a store append is worth timing.</summary>
    public bool AppendObserved => _appendDuration.Enabled;

    /// <summary>A subscription registered with the dispatcher; <paramref name="direct"/>: served on Herald's socket path.</summary>
    public void SubscriptionOpened(bool direct)
    {
        var server = direct ? 1 : 0;
        Interlocked.Increment(ref _active[server]);
        _opened.Add(1, _serverTags[server]);
    }

    /// <summary>A subscription <see cref="SubscriptionOpened"/> counted has ended, for <paramref name="reason"/>.</summary>
    public void SubscriptionClosed(bool direct, CloseReason reason)
    {
        var server = direct ? 1 : 0;
        Interlocked.Decrement(ref _active[server]);
        var perServer = _closeTags.Length / 2;
        if ((uint)reason < (uint)perServer)
        {
            _closed.Add(1, _closeTags[(server * perServer) + (int)reason]);
        }
    }

    /// <summary>A publish answered with <paramref name="status"/>, <paramref name="started"/> being its <see cref="Stopwatch"/> timestamp.</summary>
    public void PublishAnswered(int status, long started)
    {
        var tags = status switch
        {
            < 400 => _stored,
            StatusCodes.Status503ServiceUnavailable => _unavailable,
            _ => _refused.TryGetValue(status, out var known) ? known : Refused(status),
        };
        _published.Add(1, tags);
        if (_publishDuration.Enabled)
        {
            _publishDuration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds, tags);
        }
    }

    /// <summary>A store append that began at <paramref name="started"/> (a <see cref="Stopwatch"/> timestamp) has returned.</summary>
    public void AppendReturned(long started) => _appendDuration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds);

    /// <summary>An update stored at <paramref name="storedAt"/> has been dispatched (once per update, never per subscriber).</summary>
    public void Dispatched(DateTimeOffset storedAt)
    {
        if (_dispatchLag.Enabled)
        {
            // Another node's clock stamped it in a cluster: a clock behind this one must not give a negative lag.
            _dispatchLag.Record(Math.Max(0, (_time.GetUtcNow() - storedAt).TotalSeconds));
        }
    }

    public void Dispose()
    {
        if (_ownsMeter)
        {
            _meter.Dispose();
        }
    }

    /// <summary>The value of <c>herald.close.reason</c>.</summary>
    internal static string ReasonName(CloseReason reason) => reason switch
    {
        CloseReason.Disconnected => "client_left",
        CloseReason.Overflow => "too_slow",
        CloseReason.TokenExpired => "token_expired",
        CloseReason.WriteTimeout => "write_timeout",
        CloseReason.Shutdown => "shutdown",
        CloseReason.WriteFailed => "write_failed",
        _ => "server_closed",
    };

    /// <summary>A histogram of durations in seconds, with buckets for them (OpenTelemetry's default ones are for milliseconds).</summary>
    private Histogram<double> Seconds(string name, string description)
        => _meter.CreateHistogram(name, "s", description, tags: null, new InstrumentAdvice<double> { HistogramBucketBoundaries = SecondsBuckets });

    private static KeyValuePair<string, object?>[] Refused(int status) => Tags((OutcomeTag, "refused"), (StatusTag, status));

    private static KeyValuePair<string, object?>[] Tags(params (string Key, object Value)[] tags)
        => Array.ConvertAll(tags, t => new KeyValuePair<string, object?>(t.Key, t.Value));
}
