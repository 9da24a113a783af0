using Herald.Dispatch;

namespace Herald.Tests.Dispatch;

/// <summary>The queue between the history writer, its fan-out and the listener's admission threads.</summary>
public sealed class HandOffQueueTests
{
    [Fact]
    public async Task A_waiting_consumer_gets_every_item_in_order_and_ends_once_completed_and_empty()
    {
        var queue = new HandOffQueue<int>();
        var taken = new List<int>();
        var consumer = Task.Factory.StartNew(
            () =>
            {
                while (queue.TryTake(out var item))
                {
                    taken.Add(item);
                }
            },
            TaskCreationOptions.LongRunning);

        for (var i = 0; i < 10_000; i++)
        {
            Assert.True(queue.TryAdd(i));
        }

        queue.Complete();
        await consumer.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(Enumerable.Range(0, 10_000), taken);
        Assert.False(queue.TryAdd(1), "a completed queue takes nothing more");
    }

    [Fact]
    public async Task A_full_bounded_queue_holds_its_producer_until_the_consumer_makes_room()
    {
        var queue = new HandOffQueue<int>(bound: 2);
        Assert.True(queue.TryAdd(1));
        Assert.True(queue.TryAdd(2));

        var third = Task.Factory.StartNew(() => queue.TryAdd(3), TaskCreationOptions.LongRunning);
        await Task.Delay(200);
        Assert.False(third.IsCompleted, "the producer must wait while the queue is full");

        Assert.True(queue.TryTakeNow(out var first));
        Assert.Equal(1, first);
        Assert.True(await third.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.True(queue.TryTakeNow(out var second));
        Assert.True(queue.TryTakeNow(out var last));
        Assert.Equal((2, 3), (second, last));
        Assert.False(queue.TryTakeNow(out _));
    }

    [Fact]
    public async Task Completing_releases_a_producer_waiting_for_room_and_a_consumer_waiting_for_items()
    {
        var full = new HandOffQueue<int>(bound: 1);
        Assert.True(full.TryAdd(1));
        var producer = Task.Factory.StartNew(() => full.TryAdd(2), TaskCreationOptions.LongRunning);

        var empty = new HandOffQueue<int>();
        var consumer = Task.Factory.StartNew(() => empty.TryTake(out _), TaskCreationOptions.LongRunning);

        full.Complete();
        empty.Complete();

        Assert.False(await producer.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.False(await consumer.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.True(full.TryTake(out var kept), "what was queued before completing can still be taken");
        Assert.Equal(1, kept);
    }

    [Fact]
    public async Task Several_consumers_share_the_items_each_once()
    {
        var queue = new HandOffQueue<int>(bound: 16);
        var taken = new System.Collections.Concurrent.ConcurrentBag<int>();
        var consumers = Enumerable.Range(0, 3).Select(_ => Task.Factory.StartNew(
            () =>
            {
                while (queue.TryTake(out var item))
                {
                    taken.Add(item);
                }
            },
            TaskCreationOptions.LongRunning)).ToArray();

        for (var i = 0; i < 20_000; i++)
        {
            Assert.True(queue.TryAdd(i));
        }

        queue.Complete();
        await Task.WhenAll(consumers).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(Enumerable.Range(0, 20_000), taken.Order());
    }
}
