using System.IO.Pipelines;
using Herald.Dispatch;
using Herald.Sse;
using Herald.Tests.Infrastructure;

namespace Herald.Tests.Dispatch;

/// <summary>Writer threads belong to the hub: sized by its options, apart from another hub's, stopped with it.</summary>
public sealed class WriterPoolTests
{
    [Fact]
    public async Task Two_hubs_have_their_own_writer_threads_and_a_disposed_hub_stops_only_its_own()
    {
        var settings = new Dictionary<string, string?> { ["Herald:Anonymous"] = "true", ["Herald:WriterThreads"] = "3" };
        var first = await TestHub.StartAsync(settings);
        await using var second = await TestHub.StartAsync(settings);
        Thread[] firstThreads;
        try
        {
            Assert.Equal(3, first.Hub.Writers.Count);
            Assert.Equal(3, second.Hub.Writers.Count);
            firstThreads = Threads(first.Hub.Writers);
            var secondThreads = Threads(second.Hub.Writers);
            Assert.All(firstThreads, t => Assert.True(t.IsAlive));
            Assert.Empty(firstThreads.Select(t => t.ManagedThreadId).Intersect(secondThreads.Select(t => t.ManagedThreadId)));
        }
        finally
        {
            await first.DisposeAsync();
        }

        // Disposing the hub joined its threads: they are gone now, not some time later.
        Assert.All(firstThreads, t => Assert.False(t.IsAlive));

        // The other hub's writers still deliver.
        await using var reader = await second.SubscribeAsync("topic=https://example.com/a");
        await TestHub.Eventually(() => second.Hub.SubscriberCount == 1, "the subscriber");
        await second.Hub.PublishAsync(new Update { Topics = ["https://example.com/a"], Data = "still here" });
        Assert.Equal("still here", (await reader.NextAsync())?.Data);
        Assert.All(Threads(second.Hub.Writers), t => Assert.True(t.IsAlive));
    }

    [Fact]
    public void The_default_is_one_writer_per_two_cores_and_fewer_than_one_is_refused_naming_the_setting()
    {
        Assert.Equal(Math.Max(1, Environment.ProcessorCount / 2), new HeraldOptions().WriterThreads);
        var error = Assert.Throws<InvalidOperationException>(() => WriterPool.Create(new HeraldOptions { WriterThreads = 0 }));
        Assert.Equal("Herald:WriterThreads must be at least 1, not '0'.", error.Message);
    }

    [Fact]
    public async Task A_stream_whose_pool_stopped_ends_and_releases_whoever_waits_for_its_writer()
    {
        var pool = new WriterPool(2);
        var pipe = new Pipe();
        var subscriber = new Subscriber(pipe.Writer, pool.Next(), capacity: 16);
        Assert.True(subscriber.TryEnqueue(SseFrame.Opening));
        var first = await pipe.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(SseFrame.Opening.Length, first.Buffer.Length);
        pipe.Reader.AdvanceTo(first.Buffer.End);
        await subscriber.WhenIdleAsync().WaitAsync(TimeSpan.FromSeconds(30));

        pool.Dispose();
        Assert.All(Threads(pool), t => Assert.False(t.IsAlive));

        // Handed to a loop that will never run it: the stream ends instead of waiting forever.
        subscriber.TryEnqueue(SseFrame.Heartbeat);
        Assert.Equal(CloseReason.ServerClosed, await subscriber.Completion.WaitAsync(TimeSpan.FromSeconds(30)));
        await subscriber.ShutdownAsync().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.False(subscriber.IsWriterBusy);
    }

    private static Thread[] Threads(WriterPool pool) => [.. Enumerable.Range(0, pool.Count).Select(i => pool[i].Thread)];
}
