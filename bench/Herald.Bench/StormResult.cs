using System.Globalization;
using System.Text;

namespace Herald.Bench;

/// <summary>The figures of one storm run (f): printed as text, or as one flat JSON object with <c>--json</c>.</summary>
internal sealed record StormResult
{
    public string Workload { get; init; } = "storm";

    public required string Url { get; init; }

    public int Nodes { get; init; }

    public int Subscribers { get; init; }

    public double RateAsked { get; init; }

    public long Connected { get; init; }

    public long Subscribed { get; init; }

    /// <summary>Subscribers whose node was killed (all of them with one node).</summary>
    public long Cut { get; init; }

    /// <summary>Streams answered 200 again after the kill.</summary>
    public long Reconnects { get; init; }

    /// <summary>Connection attempts refused or answered other than 200 (while the hub was down, or under the storm).</summary>
    public long RefusedAttempts { get; init; }

    /// <summary>From the SIGKILL until the restarted hub answered HTTP (0 in a cluster: the others answer throughout).</summary>
    public double HubDownSeconds { get; init; }

    /// <summary>From the hub answering again until the last cut subscriber received its first update published after the kill.</summary>
    public double? ResumeSeconds { get; init; }

    /// <summary>The median cut subscriber's resume time, counted as <see cref="ResumeSeconds"/>.</summary>
    public double? ResumeP50Seconds { get; init; }

    /// <summary>From the hub answering again until the last reconnection was answered 200.</summary>
    public double? ReconnectSeconds { get; init; }

    /// <summary>Cut subscribers that never received an update published after the kill.</summary>
    public long Unresumed { get; init; }

    /// <summary>Acknowledged (2xx) publishes.</summary>
    public long Published { get; init; }

    /// <summary>Publishes refused or failed while the hub was down (not acknowledged).</summary>
    public long PublishFailedWhileDown { get; init; }

    /// <summary>Publishes that failed at any other time.</summary>
    public long PublishFailed { get; init; }

    public string? FirstPublishError { get; init; }

    public double PublishCalmP99Ms { get; init; }

    public double PublishStormP50Ms { get; init; }

    public double PublishStormP99Ms { get; init; }

    public double PublishStormMaxMs { get; init; }

    /// <summary>Acknowledged publishes sent in the storm window (hub answering → every cut subscriber live again).</summary>
    public long PublishStormCount { get; init; }

    /// <summary>After the storm, until publishing stopped.</summary>
    public double PublishAfterP99Ms { get; init; }

    /// <summary>Acknowledged updates a subscriber never received, summed over subscribers (must be 0).</summary>
    public long Lost { get; init; }

    /// <summary>
    /// The part of <see cref="Lost"/> below the highest number each subscriber received: holes in its stream (a
    /// correctness bug), where the rest is what subscribers still catching up (or never back in) had not got yet.
    /// </summary>
    public long Gaps { get; init; }

    /// <summary>Updates a subscriber received more than once, summed over subscribers (must be 0).</summary>
    public long Duplicated { get; init; }

    /// <summary>Subscribers lacking at least one acknowledged update when the drain ended.</summary>
    public long SubscribersIncomplete { get; init; }

    /// <summary>Updates received that were never acknowledged (a publish cut by the kill, stored anyway), summed; allowed.</summary>
    public long UnacknowledgedReceived { get; init; }

    /// <summary>From publishing stopping until every subscriber held every acknowledged update (null: not within the drain).</summary>
    public double? CompleteSeconds { get; init; }

    /// <summary>Peak resident set (VmHWM) of the restarted hub, or of the largest surviving node.</summary>
    public long HubPeakRssBytes { get; init; }

    public long SubscriberErrors { get; init; }

    public string? FirstError { get; init; }

    public required string LogDirectory { get; init; }

    /// <summary>Nothing lost or duplicated, everyone resumed, everyone connected and subscribed, no subscriber error.</summary>
    public bool Pass { get; init; }

    public string ToText()
    {
        var c = CultureInfo.InvariantCulture;
        var s = new StringBuilder();
        s.Append(c, $"storm        {Subscribers:N0} subscribers on {Nodes} node{(Nodes == 1 ? "" : "s")} ({Url}), {RateAsked:N0} updates/s; node 0 SIGKILLed{(Nodes == 1 ? " and restarted" : "")}\n");
        s.Append(c, $"connect      {Connected:N0} connected, {Subscribed:N0} subscribed; {Cut:N0} cut, {Reconnects:N0} reconnected ({RefusedAttempts:N0} attempts refused)\n");
        s.Append(c, $"resume       hub down {HubDownSeconds:F2} s; after it answered: all reconnected in {Seconds(ReconnectSeconds)}, every cut subscriber had a live update in {Seconds(ResumeSeconds)} (median {Seconds(ResumeP50Seconds)}); {Unresumed:N0} never\n");
        s.Append(c, $"exactly once lost {Lost:N0} ({Gaps:N0} of them gaps), duplicated {Duplicated:N0} ({SubscribersIncomplete:N0} subscribers incomplete; {UnacknowledgedReceived:N0} unacknowledged received); all complete {Seconds(CompleteSeconds)} after publishing stopped {(Pass ? "OK" : "FAIL")}\n");
        s.Append(c, $"publish      {Published:N0} acknowledged, {PublishFailedWhileDown:N0} failed while down, {PublishFailed:N0} other failures; p99 calm {PublishCalmP99Ms:F1} ms; storm ({PublishStormCount:N0} publishes) p50 {PublishStormP50Ms:F1} ms p99 {PublishStormP99Ms:F1} ms max {PublishStormMaxMs:F1} ms; after it p99 {PublishAfterP99Ms:F1} ms\n");
        s.Append(c, $"hub RSS      peak {HubPeakRssBytes / 1048576.0:F1} MB; logs in {LogDirectory}\n");
        if (SubscriberErrors > 0 || FirstPublishError is not null)
        {
            s.Append(c, $"errors       {SubscriberErrors:N0} subscriber errors, first: {FirstError}; first publish error: {FirstPublishError}\n");
        }

        return s.ToString();

        static string Seconds(double? value) => value is { } v ? v.ToString("F2", CultureInfo.InvariantCulture) + " s" : "never";
    }
}
