using System.Net;
using System.Text;
using Herald.Mercure;
using Herald.Security;
using Herald.Tests.Infrastructure;
using Herald.Topics;
using Microsoft.Extensions.DependencyInjection;

namespace Herald.Tests.Mercure;

/// <summary>
/// Mercure 1.0, "Publication" and "Security Considerations > Reserved Hub Namespace": what a publish may hold and
/// what the hub answers. The rules are the hub's, whatever the publisher's generation: the tokens here are 0.x ones,
/// so each test also pins what 0.x publishers get.
/// </summary>
public sealed class PublicationSpecTests : IAsyncLifetime
{
    private TestHub _hub = null!;

    public async Task InitializeAsync() => _hub = await TestHub.StartAsync();

    public async Task DisposeAsync() => await _hub.DisposeAsync();

    private async Task<(HttpStatusCode Status, string Body, HttpResponseMessage Response)> Post(string body, string? token = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, _hub.HubUrl) { Content = new StringContent(body, Encoding.UTF8, "application/x-www-form-urlencoded") };
        request.Headers.Authorization = new("Bearer", token ?? TestHub.PublisherToken());
        var response = await _hub.Client.SendAsync(request).WaitAsync(TimeSpan.FromSeconds(30));
        return (response.StatusCode, await response.Content.ReadAsStringAsync(), response);
    }

    private async Task AssertRefused(string body, string reasonContains)
    {
        var (status, reason, response) = await Post(body);
        response.Dispose();
        Assert.True(status == HttpStatusCode.BadRequest, $"{body}: got {(int)status} {reason}");
        Assert.Contains(reasonContains, reason, StringComparison.Ordinal);
        Assert.Single(reason.TrimEnd('\n').Split('\n'));
        Assert.Equal(0, _hub.Hub.Store.LastSequence);
    }

    [Fact]
    public async Task Publication_a_topic_exactly_star_is_400_even_with_a_wildcard_token()
    {
        await AssertRefused("topic=%2A&data=x", "wildcard");
        await AssertRefused("topic=https%3A%2F%2Fexample.com%2Fa&topic=*&data=x", "wildcard");
    }

    [Fact]
    public async Task Publication_a_topic_holding_a_star_is_not_the_wildcard()
    {
        var (status, _, response) = await Post("topic=" + Uri.EscapeDataString("https://example.com/*") + "&topic=%2A%2A&data=x");
        response.Dispose();
        Assert.Equal(HttpStatusCode.OK, status);
    }

    [Fact]
    public async Task Publication_the_application_publisher_refuses_a_star_topic_too()
    {
        var publisher = _hub.App.Services.GetRequiredService<IHeraldPublisher>();
        await Assert.ThrowsAsync<HeraldUpdateException>(async () => await publisher.PublishAsync(new Update { Topics = ["*"] }).AsTask().WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.NotNull(new Update { Topics = ["*"] }.Check());
    }

    [Theory]
    [InlineData("%01")]
    [InlineData("%7F")]
    [InlineData("%C2%85")]
    [InlineData("%C2%9F")]
    [InlineData("%E2%80%8B")]
    [InlineData("%E2%80%AE")]
    [InlineData("%EF%BB%BF")]
    [InlineData("%F3%A0%80%81")]
    public async Task Publication_a_topic_with_C0_C1_DEL_or_Cf_characters_is_400(string escaped)
        => await AssertRefused("topic=https%3A%2F%2Fexample.com%2Fa" + escaped + "b&data=x", "control or format characters");

    [Theory]
    [InlineData("/.well-known/mercure/subscriptions/exact/a/b")]
    [InlineData("https://hub.example.com/.well-known/mercure/subscriptions/exact/a/b")]
    [InlineData("https://x/.well-known/%6Dercure/subscriptions")]
    [InlineData("https://x/.well-known/mercure/../mercure/subscriptions")]
    [InlineData("mercure/subscriptions")]
    [InlineData(" /.well-known/mercure/x")]
    [InlineData("https:mercure/subscriptions")]
    [InlineData("HTTP:/.well-known/mercure")]
    [InlineData("https://x/.well-known/%2e%2E/.well-known/mercure")]
    [InlineData(" ")]
    [InlineData("#fragment")]
    public async Task Publication_a_topic_in_the_reserved_hub_namespace_is_400_even_with_a_wildcard_token(string topic)
    {
        // " " and "#fragment" resolve to the hub's own URL (WHATWG URL trims spaces; an empty path is the base's).
        await AssertRefused("topic=https%3A%2F%2Fexample.com%2Fok&topic=" + Uri.EscapeDataString(topic) + "&data=x", "namespace");
    }

    [Theory]
    [InlineData("https://x/.well-known/mercure-not/a")]
    [InlineData("urn:uuid:mercure")]
    [InlineData("https://x/books/mercure")]
    [InlineData("foo:mercure/subscriptions")]
    [InlineData("https://x/.well-known/mercure%2Fsubscriptions")]
    public async Task Publication_a_topic_outside_the_reserved_namespace_is_published(string topic)
    {
        var (status, body, response) = await Post("topic=" + Uri.EscapeDataString(topic) + "&data=x");
        response.Dispose();
        Assert.True(status == HttpStatusCode.OK, $"{topic}: got {(int)status} {body}");
    }

    [Fact]
    public void Publication_the_reserved_namespace_follows_the_hub_url_path()
    {
        var reserved = new ReservedTopics("https://hub.example.com/base/hub");

        Assert.True(reserved.Contains("/base/hub"));
        Assert.True(reserved.Contains("https://other.example.com/base/hub/subscriptions/exact/a/b"));
        Assert.True(reserved.Contains("https://x/base/%68ub/x"));
        Assert.True(reserved.Contains("hub/x"));
        Assert.True(reserved.Contains("?q"));
        Assert.True(reserved.Contains("/.well-known/mercure/subscriptions"));
        Assert.False(reserved.Contains("/hub/x"));
        Assert.False(reserved.Contains("/base/hubs"));
        Assert.False(reserved.Contains("https://example.com/books/1"));
    }

    [Fact]
    public void Publication_the_reserved_namespace_test_reads_a_topic_as_WHATWG_URL_does()
    {
        var reserved = ReservedTopics.Default;

        // Tabs and newlines are dropped, spaces and C0 controls trimmed at both ends, a backslash is a slash.
        Assert.True(reserved.Contains("/.well-\tknown/mer\ncure/x"));
        Assert.True(reserved.Contains("\u0001 /.well-known/mercure "));
        Assert.True(reserved.Contains("https:\\\\x\\.well-known\\mercure"));

        // A hub path outside ASCII compares in its escaped form, however the topic writes it.
        var unicode = new ReservedTopics("https://hub.example.com/h\u00fcb");
        Assert.True(unicode.Contains("/h%C3%BCb/x"));
        Assert.True(unicode.Contains("/h%c3%bcb"));
        Assert.True(unicode.Contains("https://x/h\u00fcb/subscriptions"));
        Assert.False(unicode.Contains("/hub/x"));
    }

    [Fact]
    public void Publication_every_relative_topic_is_reserved_when_the_hub_url_directory_is_inside_the_namespace()
    {
        // The hub's URL pinned below where it is mapped: relative topics resolve inside the mapped path.
        var reserved = ReservedTopics.For(new HeraldOptions { ResourceIdentifier = "https://hub.example.com/hub/v1/x" }, "/hub", pathBase: "");

        Assert.True(reserved.Contains("books/1"));
        Assert.True(reserved.Contains("/hub/v1/x"));
        Assert.False(reserved.Contains("../../books/1"));
        Assert.False(reserved.Contains("https://example.com/books/1"));
    }

    [Fact]
    public async Task Publication_a_hub_mapped_elsewhere_reserves_its_own_path_under_the_path_base()
    {
        await using var hub = await MountedHub.StartAsync("/hub", pathBase: "/base");

        Assert.Equal(HttpStatusCode.BadRequest, (await hub.PublishAsync("/base/hub/subscriptions/exact/a/b")).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await hub.PublishAsync("hub/x")).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await hub.PublishAsync("https://elsewhere.example.com/base/hub")).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await hub.PublishAsync("/.well-known/mercure/subscriptions/a")).Status);
        Assert.Equal(HttpStatusCode.OK, (await hub.PublishAsync("/base/hubs/x")).Status);
        Assert.Equal(HttpStatusCode.OK, (await hub.PublishAsync("subscriptions/x")).Status);

        // Where it is mapped, without the path base, too: the hub names its own events without a request.
        Assert.Equal(HttpStatusCode.BadRequest, (await hub.PublishAsync("/hub/x")).Status);
        Assert.Equal(HttpStatusCode.OK, (await hub.PublishAsync("https://example.com/books/1")).Status);

        // The application's publisher has no request: the hub's path is reserved without the path base.
        var publisher = hub.App.Services.GetRequiredService<IHeraldPublisher>();
        await Assert.ThrowsAsync<HeraldUpdateException>(async () => await publisher.PublishAsync(new Update { Topics = ["/hub/subscriptions"] }).AsTask().WaitAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task Publication_type_mercure_is_400()
    {
        await AssertRefused("topic=t&type=mercure&data=x", "reserved");
        var (status, _, response) = await Post("topic=t&type=Mercure-ish&data=x");
        response.Dispose();
        Assert.Equal(HttpStatusCode.OK, status);
    }

    [Fact]
    public async Task Publication_id_earliest_is_400()
        => await AssertRefused("topic=t&id=earliest&data=x", "earliest");

    [Fact]
    public async Task Publication_an_id_starting_with_a_hash_is_400()
        => await AssertRefused("topic=t&id=%23frag&data=x", "#");

    [Fact]
    public async Task Publication_the_first_topic_is_canonical_and_the_others_alternates_each_reaching_its_subscribers()
    {
        await using var alternate = await _hub.SubscribeAsync("topic=" + Uri.EscapeDataString("https://example.com/alt"), TestHub.SubscriberToken());
        await TestHub.Eventually(() => _hub.Hub.SubscriberCount == 1, "the subscriber");

        var (status, id, response) = await Post("topic=" + Uri.EscapeDataString("https://example.com/canonical") + "&topic=" + Uri.EscapeDataString("https://example.com/alt") + "&data=both");
        response.Dispose();

        Assert.Equal(HttpStatusCode.OK, status);
        var received = await alternate.NextAsync();
        Assert.Equal(("both", id), (received?.Data, received?.EventId));
        await foreach (var stored in _hub.Hub.Store.ReadAfterAsync(0, null, CancellationToken.None))
        {
            Assert.Equal(["https://example.com/canonical", "https://example.com/alt"], stored.Update.Topics);
        }
    }

    [Fact]
    public async Task Publication_success_is_200_text_plain_utf8_with_the_id_as_body()
    {
        var (status, body, response) = await Post("topic=t&id=urn%3Aexample%3A1&data=x");
        using var _ = response;

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("urn:example:1", body);
        Assert.Equal("text/plain; charset=utf-8", response.Content.Headers.ContentType?.ToString());

        var (_, generated, generatedResponse) = await Post("topic=t&data=x");
        generatedResponse.Dispose();
        Assert.StartsWith("urn:uuid:", generated, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Publication_more_topic_fields_than_the_hub_takes_is_413()
    {
        var body = string.Concat(Enumerable.Repeat("topic=t&", 1100)) + "data=x";
        var (status, _, response) = await Post(body);
        response.Dispose();
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, status);
    }

    [Fact]
    public async Task Publication_403_insufficient_scope_unless_the_token_grants_publish_on_every_topic()
    {
        var token = TestHub.PublisherToken("https://example.com/books/{id}");

        var (status, reason, response) = await Post("topic=" + Uri.EscapeDataString("https://example.com/books/1") + "&topic=" + Uri.EscapeDataString("https://example.com/authors/1"), token);
        using var _ = response;

        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Equal($"Bearer error=\"insufficient_scope\", resource_metadata=\"{_hub.BaseUrl}/.well-known/oauth-protected-resource/.well-known/mercure\"", response.Headers.WwwAuthenticate.ToString());
        Assert.Contains("https://example.com/authors/1", reason, StringComparison.Ordinal);
        Assert.Equal(0, _hub.Hub.Store.LastSequence);
    }

    [Fact]
    public async Task Publication_a_403_reason_quotes_a_long_topic_cut_short()
    {
        var topic = "https://example.com/" + new string('a', 5000);
        var (status, reason, response) = await Post("topic=" + topic, TestHub.PublisherToken("https://example.com/books/{id}"));
        response.Dispose();

        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.True(reason.Length < 400, "the reason quotes the whole topic");
    }

    [Fact]
    public void Publication_a_403_reason_speaks_the_token_generations_words()
    {
        var legacy = MercureClaims.Legacy(["https://example.com/a"], null);
        var v1 = legacy with { Generation = TokenGeneration.V1 };

        Assert.Equal("the token's mercure.publish claim does not allow topic https://example.com/b", PublishEndpoint.NotGranted(legacy, "https://example.com/b"));
        Assert.Equal("the token's authorization_details do not grant publish on topic https://example.com/b", PublishEndpoint.NotGranted(v1, "https://example.com/b"));
    }

    [Fact]
    public async Task Publication_a_reserved_topic_is_400_before_the_token_grants_are_looked_at()
    {
        // A token granting nothing: the namespace rule answers first, whatever the token.
        var (status, reason, response) = await Post("topic=" + Uri.EscapeDataString("/.well-known/mercure/x"), TokenIssuer.Create(TestHub.Key, [], null, TimeSpan.FromHours(1)));
        response.Dispose();

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("namespace", reason, StringComparison.Ordinal);
    }
}
