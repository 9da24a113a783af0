using System.Net;
using Herald.Client;
using Herald.Security;
using Herald.Tests.Infrastructure;

namespace Herald.Tests.Client;

/// <summary><see cref="MercurePublisher"/> against the real hub: the id it returns, and each refusal as a typed error.</summary>
public sealed class MercurePublisherHubTests
{
    private const string Topic = "https://example.com/books/1";
    private const int MaxPublishBytes = 1000;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Publishing_returns_the_id_subscribers_receive()
    {
        await using var hub = await TestHub.StartAsync();
        await using var reader = await hub.SubscribeAsync("topic=" + Uri.EscapeDataString(Topic), TestHub.SubscriberToken());
        using var publisher = new MercurePublisher(new Uri(hub.HubUrl), TestHub.PublisherToken(Topic));

        var generated = await publisher.PublishAsync(new PublishRequest { Topics = [Topic], Data = "one" }).WaitAsync(Timeout);
        var chosen = await publisher.PublishAsync(new PublishRequest { Topics = [Topic], Data = "two", EventId = "book-1-v2", EventType = "changed" }).WaitAsync(Timeout);

        Assert.StartsWith("urn:uuid:", generated, StringComparison.Ordinal);
        Assert.Equal("book-1-v2", chosen);
        var first = await reader.NextAsync();
        Assert.Equal((generated, "one"), (first?.EventId, first?.Data));
        var second = await reader.NextAsync();
        Assert.Equal((chosen, "two", "changed"), (second?.EventId, second?.Data, second?.EventType));
    }

    [Theory]
    [InlineData("forged token", HttpStatusCode.Unauthorized, "invalid publisher token")]
    [InlineData("missing topic", HttpStatusCode.BadRequest, "missing topic parameter")]
    [InlineData("topic not allowed", HttpStatusCode.Forbidden, "the token's mercure.publish claim does not allow topic")]
    [InlineData("body too large", HttpStatusCode.RequestEntityTooLarge, $"publish body larger than 1000 bytes")]
    public async Task A_refusal_is_a_typed_error_with_the_hubs_status_and_reason(string refusal, HttpStatusCode status, string reason)
    {
        await using var hub = await TestHub.StartAsync(new Dictionary<string, string?> { ["Herald:MaxPublishBytes"] = $"{MaxPublishBytes}" });
        var (token, request) = refusal switch
        {
            "forged token" => (TokenIssuer.Create("not-the-hub-key-0123456789-0123456789", ["*"], null, TimeSpan.FromHours(1)), Valid()),
            "missing topic" => (TestHub.PublisherToken(), Valid() with { Topics = [""] }),
            "topic not allowed" => (TestHub.PublisherToken("https://example.com/authors/{id}"), Valid()),
            "body too large" => (TestHub.PublisherToken(), Valid() with { Data = new string('x', 4 * MaxPublishBytes) }),
            _ => throw new ArgumentOutOfRangeException(nameof(refusal)),
        };
        using var publisher = new MercurePublisher(new Uri(hub.HubUrl), token);

        var failure = await Assert.ThrowsAsync<MercurePublishException>(() => publisher.PublishAsync(request).WaitAsync(Timeout));

        Assert.Equal(status, failure.StatusCode);
        Assert.StartsWith(reason, failure.Reason, StringComparison.Ordinal);
        Assert.Contains(failure.Reason!, failure.Message, StringComparison.Ordinal);
    }

    private static PublishRequest Valid() => new() { Topics = [Topic], Data = "{\"title\":\"Dune\"}" };
}
