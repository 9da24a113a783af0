using System.Net.Sockets;
using System.Text;
using Herald.Tests.Infrastructure;

namespace Herald.Tests.Hardening;

/// <summary>
/// <c>Herald:SubscriberQueueBytes</c>: a subscriber whose unsent bytes pass the limit is cut (it resumes with
/// Last-Event-ID) while the others keep receiving. One update larger than the whole limit is not by itself a reason
/// to cut: a subscriber with nothing else waiting gets it live, and a replay waits for the queue to drain instead of
/// cutting, so a subscriber cut while it was queued (anything arriving behind it is over the limit) gets it on resume.
/// Cutting for the update itself would leave it undeliverable; raising the limit for it would unbound the queue.
/// </summary>
public sealed class SubscriberQueueBytesTests
{
    private const string Topic = "https://example.com/bytes";
    private static readonly string TopicQuery = "topic=" + Uri.EscapeDataString(Topic);

    private static Task<TestHub> Start(long queueBytes) => TestHub.StartAsync(new Dictionary<string, string?>
    {
        ["Herald:Anonymous"] = "true",
        ["Herald:SubscriberQueueBytes"] = queueBytes.ToString(System.Globalization.CultureInfo.InvariantCulture),
    });

    [Fact]
    public async Task A_subscriber_that_does_not_read_is_cut_by_bytes_long_before_the_count_limit_while_another_gets_everything()
    {
        await using var hub = await Start(256 * 1024);
        var uri = new Uri(hub.BaseUrl);

        // The stalled client: a tiny receive buffer, and it never reads after sending its request.
        using var stalled = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 4096 };
        await stalled.ConnectAsync(uri.Host, uri.Port).WaitAsync(TimeSpan.FromSeconds(30));
        await stalled.SendAsync(Encoding.ASCII.GetBytes($"GET /.well-known/mercure?{TopicQuery} HTTP/1.1\r\nHost: {uri.Authority}\r\n\r\n"), SocketFlags.None);
        await using var reading = await hub.SubscribeAsync(TopicQuery);
        await TestHub.Eventually(() => hub.Hub.SubscriberCount == 2, "both subscribers", 30_000);

        // 32 KB updates: the kernel buffers on both sides (a few MB on loopback) fill first, then the hub's queue.
        // The count limit (4096 by default) is never approached, so a cut can only be the byte limit's.
        var payload = new string('x', 32 * 1024);
        const int MaxUpdates = 2000;
        var published = 0;
        var afterCut = 0;
        while (afterCut < 20)
        {
            Assert.True(published < MaxUpdates, $"the stalled subscriber was not cut after {published} updates of 32 KB");
            await hub.Hub.PublishAsync(new Update { Topics = [Topic], Data = published + ":" + payload });
            var item = await reading.NextAsync(30_000);
            Assert.Equal(published + ":" + payload, item?.Data);
            published++;
            if (hub.Hub.SubscriberCount == 1)
            {
                afterCut++;
            }
        }

        Assert.Equal(1, hub.Hub.SubscriberCount);
    }

    [Fact]
    public async Task An_update_larger_than_the_whole_limit_reaches_a_subscriber_with_nothing_else_waiting()
    {
        await using var hub = await Start(64 * 1024);
        await using var reader = await hub.SubscribeAsync(TopicQuery);
        await TestHub.Eventually(() => hub.Hub.SubscriberCount == 1, "the subscriber", 30_000);
        var big = Data(1024 * 1024);

        await hub.Hub.PublishAsync(new Update { Topics = [Topic], Data = big });
        var first = await reader.NextAsync(30_000);
        await hub.Hub.PublishAsync(new Update { Topics = [Topic], Data = "small after" });

        Assert.True(big == first?.Data, $"the 1 MB update arrives whole (got {first?.Data.Length} chars)");
        Assert.Equal("small after", (await reader.NextAsync(30_000))?.Data);
        Assert.Equal(1, hub.Hub.SubscriberCount);
    }

    [Fact]
    public async Task A_subscriber_resuming_past_an_update_larger_than_the_whole_limit_gets_it_from_history()
    {
        await using var hub = await Start(64 * 1024);
        var big = Data(1024 * 1024);
        await hub.PublishAsync(Topic, "before");
        await hub.Hub.PublishAsync(new Update { Topics = [Topic], Data = big });
        await hub.PublishAsync(Topic, "after");

        await using var reader = await hub.SubscribeAsync(TopicQuery + "&lastEventID=earliest");

        Assert.Equal("before", (await reader.NextAsync(30_000))?.Data);
        Assert.True(big == (await reader.NextAsync(30_000))?.Data, "the 1 MB update is replayed whole");
        Assert.Equal("after", (await reader.NextAsync(30_000))?.Data);
    }

    private static string Data(int length) => string.Create(length, 0, static (span, _) =>
    {
        for (var i = 0; i < span.Length; i++)
        {
            span[i] = (char)('a' + (i * 7 % 26));
        }
    });
}
