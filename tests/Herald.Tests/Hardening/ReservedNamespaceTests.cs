using System.Net;
using Herald.Mercure;
using Herald.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Herald.Tests.Hardening;

/// <summary>
/// The hub's own namespace (<c>/.well-known/mercure</c> and below, any host, however written) is refused at publish,
/// from HTTP and from <see cref="IHeraldPublisher"/>: before, a publisher allowed <c>*</c> could forge presence events
/// on <c>/.well-known/mercure/subscriptions/…</c>. The hub's own presence events still go out.
/// </summary>
public sealed class ReservedNamespaceTests
{
    [Theory]
    [InlineData("/.well-known/mercure")]
    [InlineData("/.well-known/mercure/subscriptions/a/b")]
    [InlineData("https://example.com/.well-known/mercure/subscriptions/a/urn%3Auuid%3A1")]
    [InlineData("https://x/.well-known/%6Dercure/subscriptions/a")]
    [InlineData("https://x/%2Ewell-known/mercure/subscriptions/a")]
    [InlineData("https://x/.well-known/%6D%65%72%63%75%72%65/subscriptions/a")]
    [InlineData("https://x/.well-known/%6d%45rcure")]
    [InlineData("https://x/a/../.well-known/mercure/subscriptions/a")]
    [InlineData("https://x/a/%2E%2E/.well-known/mercure/subscriptions/a")]
    [InlineData("https://x/.well-known/./mercure/subscriptions")]
    [InlineData("https://x/.well-known\\mercure\\subscriptions")]
    [InlineData("https://x/.WELL-KNOWN/MERCURE/subscriptions")]
    [InlineData("https://user@x:8443/.well-known/mercure?topic=a")]
    [InlineData("https://x/.well-known/mercure#f")]
    [InlineData("//x/.well-known/mercure/subscriptions")]
    [InlineData("/a/b/../../.well-known/mercure/x")]
    [InlineData("/../../.well-known/mercure/x")]
    [InlineData("mercure")]
    [InlineData("mercure/subscriptions/a")]
    [InlineData("./mercure/subscriptions/a")]
    [InlineData("../.well-known/mercure/x")]
    [InlineData("?topic=a")]
    public void A_topic_in_the_hubs_namespace_is_refused(string topic)
    {
        var refused = Assert.Throws<HeraldUpdateException>(() => MercureHub.Prepare(new Update { Topics = ["https://example.com/ok", topic] }));
        Assert.Contains("/.well-known/mercure", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_reason_does_not_quote_the_topic_which_may_be_huge()
    {
        var topic = string.Concat(Enumerable.Repeat("/a/..", 100_000)) + "/.well-known/mercure/subscriptions/x";
        var refused = Assert.Throws<HeraldUpdateException>(() => MercureHub.Prepare(new Update { Topics = [topic] }));
        Assert.True(refused.Message.Length < 200, "the reason quotes the topic");
    }

    [Theory]
    [InlineData("https://example.com/books/1")]
    [InlineData("https://x/.well-known/mercureX")]
    [InlineData("https://x/.well-known/mercure-other/a")]
    [InlineData("https://x/a/.well-known/mercure/subscriptions")]
    [InlineData("https://x/.well-known/mercure/../other")]
    [InlineData("https://x/.well-known%2Fmercure/subscriptions")]
    [InlineData("https://example.com/a%20b/%2F%3F")]
    [InlineData("urn:example:mercure")]
    [InlineData("mercury")]
    [InlineData("books/mercure")]
    public void Other_topics_pass(string topic)
        => Assert.Equal([topic], MercureHub.Prepare(new Update { Topics = [topic] }).Topics);

    [Fact]
    public void The_event_type_mercure_is_the_hubs_own()
        => Assert.Throws<HeraldUpdateException>(() => MercureHub.Prepare(new Update { Topics = ["t"], EventType = "mercure" }));

    [Theory]
    [InlineData("/.well-known/mercure/subscriptions/t/urn:uuid:1")]
    [InlineData("https://x/.well-known/%6Dercure/subscriptions/a")]
    [InlineData("https://x/a/../.well-known/mercure/subscriptions/a")]
    public async Task An_HTTP_publish_there_is_refused_with_400_even_with_a_wildcard_token(string topic)
    {
        await using var hub = await TestHub.StartAsync();
        using var response = await hub.PostAsync([new("topic", topic), new("data", "{\"active\":true}"), new("private", "on")], TestHub.PublisherToken("*"));
        var reason = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("namespace", reason, StringComparison.Ordinal);
        Assert.Equal(0, hub.Hub.Store.LastSequence);
    }

    [Fact]
    public async Task The_application_publisher_refuses_it_with_HeraldUpdateException()
    {
        await using var hub = await TestHub.StartAsync();
        var publisher = hub.App.Services.GetRequiredService<IHeraldPublisher>();

        var refused = await Assert.ThrowsAsync<HeraldUpdateException>(async () => await publisher
            .PublishAsync(new Update { Topics = ["/.well-known/mercure/subscriptions/t/urn:uuid:1"], Private = true, Data = "{}" })
            .AsTask().WaitAsync(TimeSpan.FromSeconds(30)));

        Assert.IsAssignableFrom<ArgumentException>(refused);
        Assert.Equal(0, hub.Hub.Store.LastSequence);
    }

    [Fact]
    public async Task The_hubs_own_presence_events_are_still_published()
    {
        await using var hub = await TestHub.StartAsync(new Dictionary<string, string?> { ["Herald:Subscriptions"] = "true" });
        const string Presence = "/.well-known/mercure/subscriptions{/topic}{/subscriber}";
        await using var observer = await hub.SubscribeAsync("topic=" + Uri.EscapeDataString(Presence), TestHub.SubscriberToken(Presence));
        await TestHub.Eventually(() => hub.Hub.SubscriberCount == 1, "the observer", 30_000);

        await using var subscriber = await hub.SubscribeAsync("topic=" + Uri.EscapeDataString("https://example.com/room"), TestHub.SubscriberToken());

        // The observer's own join comes first; the other subscriber's follows.
        while (true)
        {
            var joined = await observer.NextAsync(30_000);
            Assert.NotNull(joined);
            if (joined.Value.Data.Contains("https://example.com/room", StringComparison.Ordinal))
            {
                break;
            }
        }
    }
}
