using System.IO.Pipelines;
using Herald.Dispatch;
using Herald.Sse;
using Herald.Tests.Topics.UrlPatterns;
using Herald.Topics;
using Herald.Topics.UrlPatterns;

namespace Herald.Tests.Topics;

/// <summary>
/// The URL pattern index (<see cref="UrlPatternIndex{TValue}"/>) rules out only patterns that would not have matched:
/// on generated patterns (several hub URLs, relative patterns among them, absolute ones held for no hub URL) and topics (relative ones, and ones whose
/// meaning depends on the hub URL such as <c>https:books/1</c>), what the index selects, and what the dispatcher
/// delivers, equals running every pattern on every topic.
/// </summary>
public sealed class UrlPatternIndexTests
{
    private const int Seed = 20261207;

    /// <summary>Topics a URL parser resolves differently with, or without, a base of the same scheme.</summary>
    private static readonly string[] BaseSensitive =
    [
        "https:books/1", "HTTPS:/books/1", "https:\\\\example.com\\books\\1", " https://example.com/books/1 ", "http:localhost:3000/books/1",
        "file:books", "hTtP://localhost:3000/books/1", "/books/1", "books/1", "//example.com/books/1", "https://example.com\t/books/1",
        "urn:isbn:1", "wss:example.com/books/1", "https://hub.example.com/books/1", "",
    ];

    [Fact]
    public void The_index_selects_exactly_the_patterns_that_match_a_topic()
    {
        var cases = new UrlPatternCaseGenerator(Seed).Generate(400, 16);
        var patterns = new List<UrlPattern>();
        foreach (var (text, hub, _) in cases)
        {
            if (UrlPattern.TryParse(text, hub, out var compiled, out _))
            {
                patterns.Add(compiled);

                // An absolute pattern may also be held for no hub URL (its client's hub URL had no place left).
                if (!compiled.IsRelative && patterns.Count % 3 == 0)
                {
                    patterns.Add(compiled.WithoutBase());
                }
            }
        }

        var index = new UrlPatternIndex<UrlPattern>();
        foreach (var pattern in patterns.Distinct())
        {
            index.Add(pattern, pattern);
        }

        var parsed = new Dictionary<(string Topic, string Base), UrlComponents?>();
        bool Matches(UrlPattern pattern, string topic)
        {
            if (!parsed.TryGetValue((topic, pattern.BaseUrl), out var url))
            {
                parsed[(topic, pattern.BaseUrl)] = url = UrlComponents.Parse(topic, pattern.BaseRecord);
            }

            return url is not null && pattern.Matches(url);
        }

        var topics = cases.SelectMany(c => c.Topics).Concat(BaseSensitive).Distinct().ToArray();
        var urls = new TopicUrls();
        var found = new List<UrlPattern>();
        long stamp = 0;
        int publishes = 0, selected = 0;
        var wrong = new List<string>();
        for (var t = 0; t < topics.Length; t++)
        {
            // Alternately one topic, and two (an update's alternates): a pattern matching both is selected once.
            string[] update = t % 2 == 0 ? [topics[t]] : [topics[t], topics[(t * 7) % topics.Length]];
            urls.Reset(update);
            index.CollectMatches(urls, ++stamp, found);
            var expected = patterns.Distinct().Where(p => update.Any(topic => Matches(p, topic))).ToHashSet();
            publishes++;
            selected += found.Count;
            if (found.Count != found.Distinct().Count() || !expected.SetEquals(found))
            {
                wrong.Add($"[{string.Join(", ", update)}]: index {found.Count}, every pattern {expected.Count}");
            }

            found.Clear();
        }

        Assert.True(wrong.Count == 0, $"{wrong.Count} of {publishes} publishes differ:\n" + string.Join('\n', wrong.Take(20)));
        Assert.InRange(selected, publishes / 4, int.MaxValue);
    }

    [Fact]
    public void The_dispatcher_delivers_a_generated_update_to_exactly_the_subscribers_whose_pattern_matches()
    {
        var matcher = new TopicMatcher(int.MaxValue);
        using var writers = new WriterPool(1);
        var dispatcher = new Dispatcher(matcher, writers);
        var frame = SseFrame.Encode("{}", null, "urn:uuid:1", null);
        var cases = new UrlPatternCaseGenerator(Seed + 1).Generate(200, 8);
        var subscribers = new List<(TopicSubscriber Subscriber, int Patterns)>();
        foreach (var (text, hub, _) in cases)
        {
            var selection = matcher.TryCompile([Selector.UrlPattern(text)], hub);
            Assert.NotNull(selection);
            var subscriber = new TopicSubscriber(new PipeOutput(new Pipe().Writer), writers.Next(), selection, null, capacity: 1 << 16);
            dispatcher.Add(subscriber);
            subscriber.DetachWriterAndClear();
            subscribers.Add((subscriber, selection.Patterns.Length));
        }

        var wrong = new List<string>();
        foreach (var topic in cases.SelectMany(c => c.Topics).Concat(BaseSensitive).Distinct())
        {
            // Every selector run on the topic (a pattern of "*" is the wildcard selector, as in a subscription).
            var expected = subscribers.Count(s => s.Subscriber.Selection.Matches(topic));
            if (dispatcher.Dispatch([topic], isPrivate: false, frame) is var delivered && delivered != expected)
            {
                wrong.Add($"{topic}: delivered {delivered}, expected {expected}");
            }

            foreach (var (subscriber, _) in subscribers)
            {
                subscriber.DetachWriterAndClear();
            }
        }

        Assert.True(wrong.Count == 0, $"{wrong.Count} updates delivered wrong:\n" + string.Join('\n', wrong.Take(20)));
        foreach (var (subscriber, _) in subscribers)
        {
            dispatcher.Remove(subscriber);
        }

        Assert.Equal(0, matcher.Patterns.Count);
        Assert.InRange(subscribers.Sum(s => s.Patterns), cases.Count / 2, cases.Count);
    }

    [Theory]
    [InlineData("https://example.com/books/1", true)]
    [InlineData("HTTPS://example.com/books/1", true)]
    [InlineData("urn:isbn:1", true)]
    [InlineData("mailto:someone@example.com", true)]
    [InlineData("file:///etc/x", true)]
    [InlineData("https:books/1", false)]
    [InlineData("https:/books/1", false)]
    [InlineData("https:\\\\example.com/books/1", false)]
    [InlineData("file:books", false)]
    [InlineData("/books/1", false)]
    [InlineData("books/1", false)]
    [InlineData("//example.com/books/1", false)]
    [InlineData("https://exa\tmple.com/", false)]
    [InlineData("", false)]
    public void A_topic_is_base_independent_only_when_it_names_its_scheme_and_a_special_one_is_followed_by_two_slashes(string topic, bool independent)
        => Assert.Equal(independent, TopicUrls.IsBaseIndependent(topic));
}
