using Herald.Dispatch;
using Herald.Sse;
using Herald.Topics;

namespace Herald.Benchmarks;

/// <summary>
/// A dispatcher whose subscribers' writers are detached, so a benchmark measures the dispatcher's own cost (the part
/// that runs under its lock): what the matcher benchmarks share.
/// </summary>
internal sealed class DetachedDispatch : IDisposable
{
    private readonly byte[] _frame = SseFrame.Encode("{\"price\":42}", null, "urn:uuid:00000000-0000-0000-0000-000000000001", null);
    private readonly WriterPool _writers = new(WriterPool.DefaultCount);
    private readonly List<TopicSubscriber> _subscribers = [];
    private int _dispatchesSinceClear;

    public DetachedDispatch(TopicMatcher matcher) => Dispatcher = new Dispatcher(matcher, _writers);

    public Dispatcher Dispatcher { get; }

    /// <summary>Registers a subscriber holding <paramref name="selection"/>, its writer detached.</summary>
    public void Add(TopicSelection selection)
    {
        var subscriber = new TopicSubscriber(new PipeOutput(new DiscardingPipeWriter()), _writers.Next(), selection, null, capacity: 1 << 20);
        Dispatcher.Add(subscriber);
        subscriber.DetachWriterAndClear();
        _subscribers.Add(subscriber);
    }

    /// <summary>One publish to <paramref name="topics"/>; returns how many subscribers it reached.</summary>
    public int Dispatch(string[] topics)
    {
        var delivered = Dispatcher.Dispatch(topics, isPrivate: false, _frame);
        if (delivered > 0 && ++_dispatchesSinceClear == 512)
        {
            // Keep queues short, as writers would; amortised over 512 dispatches.
            _dispatchesSinceClear = 0;
            foreach (var subscriber in _subscribers)
            {
                subscriber.DetachWriterAndClear();
            }
        }

        return delivered;
    }

    /// <summary>Stops the writer threads, so the next case's setup starts from none.</summary>
    public void Dispose() => _writers.Dispose();
}
