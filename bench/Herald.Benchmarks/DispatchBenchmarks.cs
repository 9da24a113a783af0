using BenchmarkDotNet.Attributes;
using Herald.Dispatch;
using Herald.Sse;
using Herald.Topics;

namespace Herald.Benchmarks;

/// <summary>
/// One update fanned out to N subscribers of its topic: the dispatcher's lookup, the per-subscriber
/// enqueue and the writer work item that copies the frame into each connection's pipe.
/// </summary>
[MemoryDiagnoser]
public class DispatchBenchmarks
{
    private static readonly string[] Topics = ["https://example.com/books/1"];
    private readonly byte[] _frame = SseFrame.Encode("{\"price\":42}", null, "urn:uuid:00000000-0000-0000-0000-000000000001", null);
    private Dispatcher _dispatcher = null!;
    private WriterPool? _writers;
    private TopicSubscriber[] _subscribers = [];
    private int _dispatchesSinceClear;

    [Params(1, 1_000, 10_000)]
    public int Subscribers { get; set; }

    [GlobalSetup(Target = nameof(DispatchAndWrite))]
    public void Setup()
    {
        var matcher = new TopicMatcher();
        _writers?.Dispose();
        _writers = new WriterPool(WriterPool.DefaultCount);
        _dispatcher = new Dispatcher(matcher, _writers);
        _subscribers = new TopicSubscriber[Subscribers];
        for (var i = 0; i < Subscribers; i++)
        {
            _subscribers[i] = new TopicSubscriber(new PipeOutput(new DiscardingPipeWriter()), _writers.Next(), matcher.Compile(Selector.Topics(Topics), "http://localhost/.well-known/mercure"), null, capacity: 1 << 20);
            _dispatcher.Add(_subscribers[i]);
        }
    }

    /// <summary>The dispatcher alone: find the subscribers and queue the frame on each (writers detached).</summary>
    [Benchmark]
    public int DispatchOnly()
    {
        var delivered = _dispatcher.Dispatch(Topics, isPrivate: false, _frame);
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

    [GlobalSetup(Target = nameof(DispatchOnly))]
    public void SetupDetached()
    {
        Setup();
        foreach (var subscriber in _subscribers)
        {
            subscriber.DetachWriterAndClear();
        }
    }

    /// <summary>Dispatch plus every subscriber's writer copying the frame into its connection's pipe.</summary>
    [Benchmark]
    public int DispatchAndWrite()
    {
        var delivered = _dispatcher.Dispatch(Topics, isPrivate: false, _frame);

        // Let the writers drain before the next iteration, so queues stay short and steady.
        foreach (var subscriber in _subscribers)
        {
            var spin = default(SpinWait);
            while (subscriber.IsWriterBusy)
            {
                spin.SpinOnce();
            }
        }

        return delivered;
    }

    /// <summary>Stops the writer threads, so the next case's setup starts from none.</summary>
    [GlobalCleanup]
    public void Cleanup() => _writers?.Dispose();
}
