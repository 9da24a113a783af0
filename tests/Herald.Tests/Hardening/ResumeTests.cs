using Herald.Storage;
using Herald.Storage.Sqlite;
using Herald.Tests.Infrastructure;

namespace Herald.Tests.Hardening;

/// <summary>Resuming never delivers an update twice, even when its live dispatch comes after the replay.</summary>
public sealed class ResumeTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task An_update_replayed_before_its_live_dispatch_is_not_delivered_again()
    {
        await using var hub = await TestHub.StartAsync(new Dictionary<string, string?> { ["Herald:Anonymous"] = "true" });
        var store = Assert.IsType<SqliteUpdateStore>(hub.Hub.Store);
        const string Topic = "https://example.com/resume";
        var before = await hub.PublishAsync(Topic, "before");

        // Hold the writer after it commits "held" (its sequence is now the store's last) and before it dispatches it.
        var committed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var release = new ManualResetEventSlim();
        store.AfterCommitForTesting = batch =>
        {
            if (batch.Any(u => u.Update.Data == "held"))
            {
                committed.TrySetResult();
                release.Wait(Timeout);
            }
        };

        var held = hub.PublishAsync(Topic, "held");
        await committed.Task.WaitAsync(Timeout);

        // The resume replays "held" from the store and ends its catch-up while the live frame is still held back.
        await using var reader = await hub.SubscribeAsync("topic=" + Uri.EscapeDataString(Topic), lastEventId: before);
        Assert.Equal("held", (await reader.NextAsync())?.Data);
        await TestHub.Eventually(
            () => hub.Hub.Dispatcher.Snapshot().Any(s => !s.IsCatchingUp),
            "the resumed subscriber to end its catch-up",
            30_000);

        store.AfterCommitForTesting = null;
        release.Set();
        await held.WaitAsync(Timeout);
        await hub.PublishAsync(Topic, "after");

        Assert.Equal("after", (await reader.NextAsync())?.Data);
    }
}
