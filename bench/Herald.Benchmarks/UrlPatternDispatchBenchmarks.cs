using BenchmarkDotNet.Attributes;
using Herald.Topics;

namespace Herald.Benchmarks;

/// <summary>
/// One publish while 1,000 subscribers each hold one Mercure 1.0 URL pattern. Writers are detached: this is the
/// dispatcher's own cost, the part that runs under its lock.
/// </summary>
/// <remarks>
/// Kinds: <c>Shared</c>: every subscriber holds <c>/books/:id</c> (one compiled pattern, run once a publish).
/// <c>Distinct</c>: 1,000 different patterns <c>https://example.com/sN/books/:id</c>, each filed under its own pathname
/// anchor (<c>/sN/books/</c>, <see cref="Topics.UrlPatterns.UrlPatternIndex{TValue}"/>): a publish runs only those its
/// topic leads to (before the index, every one ran). <c>Regexp</c>: 1,000 different patterns with a regexp group
/// (<c>/sN/books/(\d+)</c>), run by the NonBacktracking engine.
/// </remarks>
[MemoryDiagnoser]
public class UrlPatternDispatchBenchmarks
{
    private const int SubscriberCount = 1_000;
    private const string Hub = "https://example.com/.well-known/mercure";
    private DetachedDispatch? _dispatch;
    private string[] _matching = [];
    private string[] _unmatched = [];

    public enum PatternKind
    {
        Shared,
        Distinct,
        Regexp,
    }

    [Params(PatternKind.Shared, PatternKind.Distinct, PatternKind.Regexp)]
    public PatternKind Kind { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var matcher = new TopicMatcher();
        _dispatch?.Dispose();
        _dispatch = new DetachedDispatch(matcher);
        for (var s = 0; s < SubscriberCount; s++)
        {
            var pattern = Kind switch
            {
                PatternKind.Shared => "/books/:id",
                PatternKind.Distinct => $"https://example.com/s{s}/books/:id",
                _ => $"/s{s}/books/(\\d+)",
            };
            _dispatch.Add(matcher.Compile([Selector.UrlPattern(pattern)], Hub));
        }

        _matching = [Kind == PatternKind.Shared ? "https://example.com/books/42" : "https://example.com/s500/books/42"];
        _unmatched = ["https://example.com/authors/42"];
        var expected = Kind == PatternKind.Shared ? SubscriberCount : 1;
        Console.WriteLine($"// {Kind}: {matcher.Patterns.Count:N0} distinct compiled patterns");
        if (Dispatch(_matching) != expected || Dispatch(_unmatched) != 0)
        {
            throw new InvalidOperationException("the patterns do not select what the benchmark says");
        }
    }

    /// <summary>A topic no pattern matches.</summary>
    [Benchmark]
    public int PublishMatchingNone() => Dispatch(_unmatched);

    /// <summary>A topic that every subscriber's pattern (Shared) or one subscriber's (Distinct, Regexp) matches.</summary>
    [Benchmark]
    public int PublishMatching() => Dispatch(_matching);

    private int Dispatch(string[] topics) => _dispatch!.Dispatch(topics);

    /// <summary>Stops the writer threads, so the next case's setup starts from none.</summary>
    [GlobalCleanup]
    public void Cleanup() => _dispatch?.Dispose();
}
