using BenchmarkDotNet.Attributes;
using Herald.Topics;

namespace Herald.Benchmarks;

/// <summary>
/// One publish while each subscriber holds its own URL pattern (<c>https://example.com/users/N/*</c>) and URI template
/// (<c>https://example.com/users/N/{+rest}</c>): each has its own anchor, so none is refused by the hub-wide cap and a
/// publish runs only the one user's matchers, whatever the number of users. Writers are detached: the dispatcher's own cost.
/// </summary>
[MemoryDiagnoser]
public class PerUserMatcherBenchmarks
{
    private const string Hub = "https://example.com/.well-known/mercure";
    private DetachedDispatch? _dispatch;
    private string[] _userTopic = [];
    private string[] _otherTopic = [];

    [Params(100, 10_000)]
    public int Users { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var matcher = new TopicMatcher();
        _dispatch?.Dispose();
        _dispatch = new DetachedDispatch(matcher);
        for (var user = 0; user < Users; user++)
        {
            Selector[] selectors = [Selector.UrlPattern($"https://example.com/users/{user}/*"), Selector.Topic($"https://example.com/users/{user}/{{+rest}}")];
            var selection = matcher.TryCompile(selectors, Hub) ?? throw new InvalidOperationException("a per-user matcher was refused");
            _dispatch.Add(selection);
        }

        _userTopic = [$"https://example.com/users/{Users / 2}/notifications/42"];
        _otherTopic = ["https://example.com/articles/42"];
        if (Dispatch(_userTopic) != 1 || Dispatch(_otherTopic) != 0)
        {
            throw new InvalidOperationException("the matchers do not select what the benchmark says");
        }
    }

    /// <summary>A topic one user's pattern and template match.</summary>
    [Benchmark]
    public int PublishToOneUser() => Dispatch(_userTopic);

    /// <summary>A topic on the same host no user's matchers match.</summary>
    [Benchmark]
    public int PublishToNoUser() => Dispatch(_otherTopic);

    private int Dispatch(string[] topics) => _dispatch!.Dispatch(topics);

    /// <summary>Stops the writer threads, so the next case's setup starts from none.</summary>
    [GlobalCleanup]
    public void Cleanup() => _dispatch?.Dispose();
}
