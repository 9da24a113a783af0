using System.Net.Sockets;
using System.Text;
using Herald.Tests.Infrastructure;

namespace Herald.Tests.Dispatch;

/// <summary>The dispatcher core through the hub: registration, removal and slow consumers, over real sockets.</summary>
public sealed class SubscriberLifecycleTests
{
    [Fact]
    public async Task A_disconnected_client_is_removed()
    {
        await using var hub = await TestHub.StartAsync(new Dictionary<string, string?> { ["Herald:Anonymous"] = "true" });
        var readers = new List<SseReader>();
        for (var i = 0; i < 5; i++)
        {
            readers.Add(await hub.SubscribeAsync("topic=https://example.com/a"));
        }

        await TestHub.Eventually(() => hub.Hub.SubscriberCount == 5, "5 subscribers");
        foreach (var reader in readers)
        {
            await reader.DisposeAsync();
        }

        await TestHub.Eventually(() => hub.Hub.SubscriberCount == 0, "the count back to 0");
    }

    [Fact]
    public async Task In_process_publish_reaches_every_subscriber_of_the_topic_and_no_other()
    {
        await using var hub = await TestHub.StartAsync(new Dictionary<string, string?> { ["Herald:Anonymous"] = "true" });
        await using var a1 = await hub.SubscribeAsync("topic=https://example.com/a");
        await using var a2 = await hub.SubscribeAsync("topic=https://example.com/a");
        await using var b = await hub.SubscribeAsync("topic=https://example.com/b");
        await TestHub.Eventually(() => hub.Hub.SubscriberCount == 3, "3 subscribers");

        await hub.Hub.PublishAsync(new Update { Topics = ["https://example.com/a"], Data = "for a" });
        await hub.Hub.PublishAsync(new Update { Topics = ["https://example.com/b"], Data = "for b" });

        Assert.Equal("for a", (await a1.NextAsync())?.Data);
        Assert.Equal("for a", (await a2.NextAsync())?.Data);
        Assert.Equal("for b", (await b.NextAsync())?.Data);
    }

    [Fact]
    public async Task A_subscriber_that_stops_reading_is_closed_while_a_reading_one_gets_every_event_in_order()
    {
        await using var hub = await TestHub.StartAsync(new Dictionary<string, string?>
        {
            ["Herald:Anonymous"] = "true",
            ["Herald:SubscriberQueueCapacity"] = "16",
        });
        var topic = "https://example.com/flood";

        // The stalled client: a raw socket with a tiny receive buffer that never reads after the headers.
        using var stalled = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 4096 };
        var uri = new Uri(hub.HubUrl);
        await stalled.ConnectAsync(uri.Host, uri.Port);
        await stalled.SendAsync(Encoding.ASCII.GetBytes($"GET {uri.AbsolutePath}?topic={Uri.EscapeDataString(topic)} HTTP/1.1\r\nHost: {uri.Authority}\r\n\r\n"));

        await using var reader = await hub.SubscribeAsync("topic=" + Uri.EscapeDataString(topic));
        await TestHub.Eventually(() => hub.Hub.SubscriberCount == 2, "both subscribers");

        const int count = 400;
        var payload = new string('x', 32 * 1024);
        var received = 0;
        var reading = Task.Run(async () =>
        {
            for (var i = 0; i < count; i++)
            {
                var item = await reader.NextAsync();
                Assert.Equal(i + ":" + payload, item?.Data);
                Volatile.Write(ref received, i + 1);
            }
        });

        for (var i = 0; i < count; i++)
        {
            // Pace the publisher to the reading client, so only the stalled one falls behind.
            var sent = i;
            await TestHub.Eventually(() => Volatile.Read(ref received) >= sent - 8 || reading.IsFaulted, "the reader to keep up");
            await hub.Hub.PublishAsync(new Update { Topics = [topic], Data = i + ":" + payload });
        }

        await reading.WaitAsync(TimeSpan.FromSeconds(30));
        await TestHub.Eventually(() => hub.Hub.SubscriberCount == 1, "the stalled subscriber to be cut");
    }
}
