using Herald.Tests.Infrastructure;

namespace Herald.Tests.Storm;

/// <summary>
/// A reconnect storm at a size CI affords (issue #17 (f)): a real <c>herald serve</c> with SQLite history and 200
/// subscribers is SIGKILLed while publishing goes on, then started again on the same port and data directory; every
/// subscriber reconnects with the last id it saw, and must end up holding every acknowledged update exactly once, in
/// order. Nothing here is timed: the waits are deadlines that only a failing hub reaches.
/// </summary>
public sealed class SqliteStormTests
{
    private const int Subscribers = 200;
    private const int PublishedEachSide = 30;
    private const string Topic = "https://storm.example/feed";

    [Fact]
    public async Task After_a_sigkill_and_a_restart_every_subscriber_holds_every_acknowledged_update_exactly_once_in_order()
    {
        var dataDir = Path.Combine(Path.GetTempPath(), "herald-tests", Guid.NewGuid().ToString("N"));
        await using var hub = await StormHub.StartAsync("--data-dir", dataDir);
        var subscribe = new Uri(hub.HubUrl + "?topic=" + Uri.EscapeDataString(Topic));
        await using var fleet = new StormFleet([.. Enumerable.Repeat(subscribe, Subscribers)], TestHub.SubscriberToken());
        using var publisher = new SequentialPublisher(() => new Uri(hub.HubUrl), TestHub.PublisherToken(), Topic, "storm");
        using var warmUp = new SequentialPublisher(() => new Uri(hub.HubUrl), TestHub.PublisherToken(), Topic, "warmup");
        fleet.Start();
        await fleet.WarmUpAsync(warmUp);

        using var stop = new CancellationTokenSource();
        var publishing = Task.Run(() => publisher.RunAsync(stop.Token));
        await TestHub.Eventually(() => publisher.AcknowledgedCount >= PublishedEachSide, "updates acknowledged before the kill", 60_000);

        await hub.KillAsync();
        var beforeRestart = publisher.AcknowledgedCount;
        await hub.StartAgainAsync();
        await TestHub.Eventually(
            () => publisher.AcknowledgedCount >= beforeRestart + PublishedEachSide, "updates acknowledged after the restart", 60_000);
        await stop.CancelAsync();
        await publishing.WaitAsync(TimeSpan.FromSeconds(60));

        var acknowledged = publisher.Acknowledged;
        var verdict = await fleet.WaitForEveryAcknowledgedAsync(acknowledged, TimeSpan.FromSeconds(30));

        Assert.True(verdict.ExactlyOnceInOrder, $"{acknowledged.Count} acknowledged ({publisher.Failed} publishes failed while the hub was down): {verdict}");
        Assert.Null(fleet.FirstFailure);
    }
}
