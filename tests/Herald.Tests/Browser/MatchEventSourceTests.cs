using Herald.Tests.Infrastructure;

namespace Herald.Tests.Browser;

/// <summary>
/// Mercure 1.0, "Subscription": a browser's EventSource subscribing with <c>match</c> parameters built by
/// <c>URLSearchParams</c> (the encoding the spec names), beside a 0.x <c>topic=</c> stream on the same hub.
/// </summary>
[Collection(DemoBrowserCollection.Name)]
public sealed class MatchEventSourceTests(DemoBrowser chromium) : IAsyncLifetime
{
    public Task InitializeAsync() => chromium.ResetAsync();

    public Task DisposeAsync() => chromium.ResetAsync();

    [Fact]
    public async Task Subscription_a_browser_EventSource_with_URLSearchParams_match_gets_what_a_0x_topic_stream_gets()
    {
        await using var hub = await TestHub.StartAsync(new Dictionary<string, string?> { ["Herald:Anonymous"] = "true" });
        const string topic = "https://example.com/books/1?lang=fr&x=a+b;c%";
        var earlier = await hub.Hub.PublishAsync(new Update { Topics = [topic], Data = "before" });
        var page = await chromium.NewPageAsync();
        await page.GotoAsync(hub.BaseUrl + "/favicon.svg");
        await page.EvaluateAsync(
            """
            ([hubUrl, topic, lastEventId]) => {
              window.received = { current: [], legacy: [] };
              window.opened = 0;
              const open = (name, params) => {
                const url = new URL(hubUrl);
                for (const [k, v] of params) url.searchParams.append(k, v);
                const es = new EventSource(url);
                es.onopen = () => { window.opened++; };
                es.onmessage = e => window.received[name].push(e.lastEventId);
              };
              open('current', [['match', topic], ['match_exact', 'https://example.com/other'], ['last_event_id', lastEventId]]);
              open('legacy', [['topic', topic], ['lastEventID', lastEventId]]);
            }
            """,
            new[] { hub.HubUrl, topic, "earliest" });
        await page.WaitForFunctionAsync("() => window.opened === 2");
        await TestHub.Eventually(() => hub.Hub.SubscriberCount == 2, "the browser's two subscriptions");

        var live = await hub.Hub.PublishAsync(new Update { Topics = [topic], Data = "live" });
        var other = await hub.Hub.PublishAsync(new Update { Topics = ["https://example.com/other"], Data = "other" });

        await page.WaitForFunctionAsync("() => window.received.current.length >= 3 && window.received.legacy.length >= 2");
        Assert.Equal<string>([earlier, live, other], await page.EvaluateAsync<string[]>("() => window.received.current"));
        Assert.Equal<string>([earlier, live], await page.EvaluateAsync<string[]>("() => window.received.legacy"));
        Assert.Empty(chromium.Errors);
    }
}
