using System.IO.Pipelines;
using Herald.Dispatch;
using Herald.Sse;
using Herald.Topics;

namespace Herald.Tests.Dispatch;

/// <summary>
/// Mercure 1.0 "URL Pattern" subscriptions in the dispatcher: subscribers holding the same (pattern, hub URL) share one
/// compiled pattern, run once per publish; relative topics resolve against the hub URL; a subscriber gets an update once.
/// </summary>
public sealed class UrlPatternDispatchTests
{
    private const string Hub = "https://example.com/.well-known/mercure";
    private static readonly byte[] Frame = SseFrame.Encode("{}", null, "urn:uuid:1", null);

    [Fact]
    public void Url_Pattern_subscribers_of_one_pattern_share_it_and_each_gets_an_update_once()
    {
        var matcher = new TopicMatcher();
        using var writers = new WriterPool(1);
        var dispatcher = new Dispatcher(matcher, writers);
        TopicSubscriber Subscribe(params Selector[] selectors)
        {
            var subscriber = new TopicSubscriber(new PipeOutput(new Pipe().Writer), writers.Next(), matcher.Compile(selectors, Hub), null, capacity: 1024);
            dispatcher.Add(subscriber);
            subscriber.DetachWriterAndClear();
            return subscriber;
        }

        var first = Subscribe(Selector.UrlPattern("/books/:id"));
        var second = Subscribe(Selector.UrlPattern("/books/:id"), Selector.Exact("https://example.com/books/1"), Selector.UrlPattern("https://example.com/*"));
        var third = Subscribe(Selector.UrlPattern("https://example.com/authors/*"));
        Assert.Equal(3, matcher.Patterns.Count);
        Assert.Same(first.Selection.Patterns[0], second.Selection.Patterns[0]);

        Assert.Equal(2, dispatcher.Dispatch(["https://example.com/books/1"], isPrivate: false, Frame));
        Assert.Equal(3, dispatcher.Dispatch(["/books/2", "/authors/x"], isPrivate: false, Frame));
        Assert.Equal(1, dispatcher.Dispatch(["https://example.com/other"], isPrivate: false, Frame));
        Assert.Equal(0, dispatcher.Dispatch(["https://other.example/books/1", "http://[::1"], isPrivate: false, Frame));

        foreach (var subscriber in new[] { first, second, third })
        {
            dispatcher.Remove(subscriber);
        }

        Assert.Equal(0, matcher.Patterns.Count);
        Assert.Equal(0, dispatcher.Count);
    }
}
