using BenchmarkDotNet.Attributes;
using Herald.Topics;

namespace Herald.Benchmarks;

/// <summary>
/// One publish to a busy topic after an attacker filled every matcher-index bucket the topic probes, at the hub-wide cap
/// (<see cref="HeraldOptions.MaxMatchersPerAnchor"/>), each matcher held by its own subscriber. Writers are detached:
/// this is the dispatcher's own cost, the part that runs under its lock.
/// </summary>
/// <remarks>
/// Kinds: <c>Templates</c>: URI templates (<see cref="HotTopicMatchers.Templates"/>), <c>UrlPatterns</c>: URL patterns
/// (<see cref="HotTopicMatchers.UrlPatterns"/>), <c>Both</c>: the two at once. Candidates past the cap are refused, as a
/// subscription would be. <c>PublishHotTopic</c> runs every matcher held; <c>PublishOtherTopic</c> a topic on another host.
/// </remarks>
[MemoryDiagnoser]
public class MatcherCapBenchmarks
{
    private const string Hub = "https://example.com/.well-known/mercure";
    private static readonly string[] HotTopic = [HotTopicMatchers.Topic];
    private static readonly string[] OtherTopic = ["https://other.example/catalog/items/1"];
    private DetachedDispatch? _dispatch;

    public enum MatcherKind
    {
        Templates,
        UrlPatterns,
        Both,
    }

    [Params(MatcherKind.Templates, MatcherKind.UrlPatterns, MatcherKind.Both)]
    public MatcherKind Kind { get; set; }

    /// <summary>The cap: <see cref="HeraldOptions.MaxMatchersPerAnchor"/>'s default, and half of it.</summary>
    [Params(4, HeraldOptions.DefaultMaxMatchersPerAnchor)]
    public int Cap { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var matcher = new TopicMatcher(Cap);
        _dispatch?.Dispose();
        _dispatch = new DetachedDispatch(matcher);
        var refused = 0;
        var candidates = Kind switch
        {
            MatcherKind.Templates => HotTopicMatchers.Templates(Cap).Select(Selector.Topic),
            MatcherKind.UrlPatterns => HotTopicMatchers.UrlPatterns(Cap).Select(Selector.UrlPattern),
            _ => HotTopicMatchers.Templates(Cap).Select(Selector.Topic).Concat(HotTopicMatchers.UrlPatterns(Cap).Select(Selector.UrlPattern)),
        };
        foreach (var selector in candidates)
        {
            if (matcher.TryCompile([selector], Hub) is not { } selection)
            {
                refused++;
                continue;
            }

            _dispatch.Add(selection);
        }

        var (hot, other) = (Dispatch(HotTopic), Dispatch(OtherTopic));
        Console.WriteLine(
            $"// {Kind}, cap {Cap}: {matcher.Templates.Count:N0} templates and {matcher.Patterns.Count:N0} URL patterns held, {refused:N0} refused; {hot:N0} match the hot topic, {other:N0} the other");
        if (refused == 0)
        {
            throw new InvalidOperationException("the candidates do not fill the caps");
        }
    }

    /// <summary>The busy topic: every bucket it probes is full.</summary>
    [Benchmark]
    public int PublishHotTopic() => Dispatch(HotTopic);

    /// <summary>A topic on another host: only the always-run and inner-literal templates, and the "any host" patterns, run.</summary>
    [Benchmark]
    public int PublishOtherTopic() => Dispatch(OtherTopic);

    private int Dispatch(string[] topics) => _dispatch!.Dispatch(topics);

    /// <summary>Stops the writer threads, so the next case's setup starts from none.</summary>
    [GlobalCleanup]
    public void Cleanup() => _dispatch?.Dispose();
}
