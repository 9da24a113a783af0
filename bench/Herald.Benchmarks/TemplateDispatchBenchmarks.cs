using System.Text;
using BenchmarkDotNet.Attributes;
using Herald.Dispatch;
using Herald.Sse;
using Herald.Topics;

namespace Herald.Benchmarks;

/// <summary>
/// One publish while 1,000 subscribers each hold 100 selectors: exact topics, against URI templates written to
/// be expensive and distinct (so sharing by text cannot help). Writers are detached: this is the dispatcher's
/// own cost, the part that runs under its lock.
/// </summary>
/// <remarks>
/// Kinds: <c>Exact</c>: 100 exact topics each. <c>Adversarial</c>: one template matching the published topic that
/// differs from every other subscriber's by its variable names only, and 99 of ten <c>{+vN}</c> then a literal
/// unique to that subscriber and template. <c>Unanchored</c>: the same but the unique literal sits between the
/// expansions, so no literal end can index it and every publish runs its automaton (the index's worst case).
/// <c>CommonLiterals</c>: 99 templates made only of expansions and one-character literals the topic holds
/// (<c>{+a}/{+a}.{+a}o…{+a}</c>, distinct by the order of the literals): nothing can rule them out, every
/// publish runs all 99,000 automata. <c>CommonInner</c>: the same behind <c>{+s}://</c>, a literal every URL topic
/// holds: indexed, yet run on every publish, which shows a cap on templates the index cannot file would bound nothing.
/// <c>Long</c>: the matching template and three of 2,000 characters each (what an 8 KB request line holds).
/// </remarks>
[MemoryDiagnoser]
public class TemplateDispatchBenchmarks
{
    private const int SubscriberCount = 1_000;
    private const int SelectorsEach = 100;
    private static readonly string[] MatchingTopic = ["https://example.com/books/x0"];
    private static readonly string[] UnmatchedTopic = ["https://example.com/books/1"];
    private readonly byte[] _frame = SseFrame.Encode("{\"price\":42}", null, "urn:uuid:00000000-0000-0000-0000-000000000001", null);
    private Dispatcher _dispatcher = null!;
    private WriterPool? _writers;
    private TopicSubscriber[] _subscribers = [];
    private int _dispatchesSinceClear;

    public enum SelectorKind
    {
        Exact,
        Adversarial,
        Unanchored,
        CommonLiterals,
        CommonInner,
        Long,
    }

    [Params(SelectorKind.Exact, SelectorKind.Adversarial, SelectorKind.Unanchored, SelectorKind.CommonLiterals, SelectorKind.CommonInner, SelectorKind.Long)]
    public SelectorKind Kind { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var before = GC.GetTotalMemory(forceFullCollection: true);
        var matcher = new TopicMatcher();
        _writers?.Dispose();
        _writers = new WriterPool(WriterPool.DefaultCount);
        _dispatcher = new Dispatcher(matcher, _writers);
        _subscribers = new TopicSubscriber[SubscriberCount];
        for (var s = 0; s < SubscriberCount; s++)
        {
            var selection = matcher.Compile(Selector.Topics(Selectors(Kind, s)), "http://localhost/.well-known/mercure");
            _subscribers[s] = new TopicSubscriber(new PipeOutput(new DiscardingPipeWriter()), _writers.Next(), selection, null, capacity: 1 << 20);
            _dispatcher.Add(_subscribers[s]);
            _subscribers[s].DetachWriterAndClear();
        }

        var after = GC.GetTotalMemory(forceFullCollection: true);
        Console.WriteLine($"// {Kind}: {(after - before) / SubscriberCount:N0} bytes per subscriber, {matcher.Templates.Count:N0} distinct templates");
        if (Dispatch(MatchingTopic) != SubscriberCount || Dispatch(UnmatchedTopic) != 0)
        {
            throw new InvalidOperationException("the selectors do not select what the benchmark says");
        }
    }

    /// <summary>A topic none of the selectors matches.</summary>
    [Benchmark]
    public int PublishMatchingNone() => Dispatch(UnmatchedTopic);

    /// <summary>A topic one selector of every subscriber matches: 1,000 deliveries.</summary>
    [Benchmark]
    public int PublishMatchingEach() => Dispatch(MatchingTopic);

    private int Dispatch(string[] topics)
    {
        var delivered = _dispatcher.Dispatch(topics, isPrivate: false, _frame);
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

    private static string[] Selectors(SelectorKind kind, int s)
    {
        const string Ten = "{+v1}{+v2}{+v3}{+v4}{+v5}{+v6}{+v7}{+v8}{+v9}{+v10}";
        var matching = $"{{+a{s}}}{{+b{s}}}{{+c}}{{+d}}{{+e}}{{+f}}{{+g}}{{+h}}{{+i}}{{+j}}x0";
        return kind switch
        {
            SelectorKind.Exact => [MatchingTopic[0], .. Enumerable.Range(1, SelectorsEach - 1).Select(t => $"https://example.com/s{s}/t{t}")],
            SelectorKind.Adversarial => [matching, .. Enumerable.Range(1, SelectorsEach - 1).Select(t => $"{Ten}x{s}.{t}")],
            SelectorKind.Unanchored => [matching, .. Enumerable.Range(1, SelectorsEach - 1).Select(t => $"{Ten[..25]}x{s}.{t}{Ten[25..]}")],
            SelectorKind.CommonLiterals => [matching, .. Enumerable.Range(1, SelectorsEach - 1).Select(t => CommonLiterals((s * SelectorsEach) + t))],
            SelectorKind.CommonInner => [matching, .. Enumerable.Range(1, SelectorsEach - 1).Select(t => "{+s}://" + CommonLiterals((s * SelectorsEach) + t))],
            SelectorKind.Long => [matching, .. Enumerable.Range(1, 3).Select(t => Long(s, t))],
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };
    }

    private static string CommonLiterals(int n)
    {
        var text = new StringBuilder("{+a}");
        for (var digit = 0; digit < 11; digit++, n /= 3)
        {
            text.Append("/.o"[n % 3]).Append("{+a}");
        }

        return text.ToString();
    }

    private static string Long(int s, int t)
    {
        var text = new StringBuilder();
        while (text.Length < 1_980)
        {
            text.Append("{+v}-");
        }

        return text.Append($"x{s}.{t}{{+w}}").ToString();
    }

    /// <summary>Stops the writer threads, so the next case's setup starts from none.</summary>
    [GlobalCleanup]
    public void Cleanup() => _writers?.Dispose();
}
