using System.Net;
using Herald.Security;
using Herald.Tests.Infrastructure;
using Herald.Topics;

namespace Herald.Tests.Security;

/// <summary>
/// Mercure 1.0 access tokens on a running hub: "Publishers", "Subscribers" and "Error Responses" (the RFC 6750 challenge
/// each failure carries), with the hub's keys bound to an issuer (<c>Herald:Issuer</c>) and 0.x tokens beside them.
/// </summary>
public sealed class AccessTokenHubTests
{
    private const string Issuer = "https://issuer.example.com";

    private static Task<TestHub> Start(string protocol = "Compatible", bool anonymous = false) => TestHub.StartAsync(new Dictionary<string, string?>
    {
        ["Herald:Issuer"] = Issuer,
        ["Herald:Protocol"] = protocol,
        ["Herald:Anonymous"] = anonymous ? "true" : "false",
        ["Herald:CookieName"] = "mercure_access_token",
    });

    private static string Token(TestHub hub, Selector[] publish, Selector[] subscribe)
        => TokenIssuer.CreateAccessToken(TestHub.Key, new AccessTokenRequest(Issuer, [hub.HubUrl], TimeSpan.FromHours(1), publish, subscribe));

    private static async Task<(HttpStatusCode Status, string? Challenge, string Body)> Send(HttpRequestMessage request, TestHub hub)
    {
        using var response = await hub.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).WaitAsync(TimeSpan.FromSeconds(30));
        var body = response.StatusCode == HttpStatusCode.OK ? string.Empty : await response.Content.ReadAsStringAsync();
        return (response.StatusCode, response.Headers.WwwAuthenticate.ToString(), body.Trim());
    }

    private static HttpRequestMessage Post(TestHub hub, string? authorization)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, hub.HubUrl) { Content = new FormUrlEncodedContent([new("topic", "https://example.com/books/1"), new("data", "x")]) };
        if (authorization is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", authorization);
        }

        return request;
    }

    [Fact]
    public async Task Publishers_a_1_0_token_granting_publish_on_the_topic_publishes_and_a_0x_token_still_does()
    {
        await using var hub = await Start();

        var v1 = await Send(Post(hub, "Bearer " + Token(hub, [Selector.Exact("https://example.com/books/1")], [])), hub);
        var legacy = await Send(Post(hub, "Bearer " + TestHub.PublisherToken()), hub);
        var otherTopic = await Send(Post(hub, "Bearer " + Token(hub, [Selector.Exact("https://example.com/books/2")], [])), hub);

        Assert.Equal(HttpStatusCode.OK, v1.Status);
        Assert.Equal(HttpStatusCode.OK, legacy.Status);
        Assert.Equal(HttpStatusCode.Forbidden, otherTopic.Status);
    }

    [Fact]
    public async Task Error_Responses_each_token_failure_carries_its_RFC_6750_challenge()
    {
        await using var hub = await Start();
        var metadata = "resource_metadata=\"";

        var none = await Send(Post(hub, null), hub);
        var invalid = await Send(Post(hub, "Bearer not-a-token"), hub);
        var malformed = await Send(Post(hub, "Basic dXNlcjpwYXNz"), hub);
        var otherHub = await Send(Post(hub, "Bearer " + TokenIssuer.CreateAccessToken(TestHub.Key, new AccessTokenRequest(Issuer, ["https://other.example.com/.well-known/mercure"], TimeSpan.FromHours(1), [Selector.Exact("*")], []))), hub);

        Assert.Equal((HttpStatusCode.Unauthorized, true), (none.Status, none.Challenge!.StartsWith("Bearer " + metadata, StringComparison.Ordinal)));
        Assert.Equal((HttpStatusCode.Unauthorized, true), (invalid.Status, invalid.Challenge!.StartsWith("Bearer error=\"invalid_token\", " + metadata, StringComparison.Ordinal)));
        Assert.Equal((HttpStatusCode.BadRequest, true), (malformed.Status, malformed.Challenge!.StartsWith("Bearer error=\"invalid_request\", " + metadata, StringComparison.Ordinal)));
        Assert.Equal((HttpStatusCode.Unauthorized, "invalid publisher token: token aud does not name this hub"), (otherHub.Status, otherHub.Body));
    }

    [Fact]
    public async Task Subscribers_a_1_0_token_in_the_cookie_receives_the_private_updates_it_is_granted()
    {
        await using var hub = await Start(anonymous: true);
        var token = Token(hub, [], [Selector.Exact("https://example.com/books/1")]);
        var request = new HttpRequestMessage(HttpMethod.Get, hub.HubUrl + "?topic=" + Uri.EscapeDataString("https://example.com/books/{id}"));
        request.Headers.Add("Cookie", "mercure_access_token=" + token);
        var response = await hub.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).WaitAsync(TimeSpan.FromSeconds(30));
        await using var reader = await SseReader.OpenAsync(response);
        await TestHub.Eventually(() => hub.Hub.SubscriberCount == 1, "subscriber");

        await hub.PublishAsync("https://example.com/books/2", "not granted", isPrivate: true);
        await hub.PublishAsync("https://example.com/books/1", "granted", isPrivate: true);

        Assert.Equal("granted", (await reader.NextAsync())?.Data);
    }

    [Fact]
    public async Task Presenting_the_Access_Token_a_1_0_token_in_the_query_string_is_a_400_invalid_request()
    {
        await using var hub = await Start(anonymous: true);
        var token = Token(hub, [], [Selector.Exact("*")]);

        var answer = await Send(new HttpRequestMessage(HttpMethod.Get, hub.HubUrl + "?topic=t&authorization=" + token), hub);

        Assert.Equal(HttpStatusCode.BadRequest, answer.Status);
        Assert.StartsWith("Bearer error=\"invalid_request\"", answer.Challenge, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Token_Validation_a_V1_hub_refuses_0x_tokens_and_accepts_1_0_ones()
    {
        await using var hub = await Start(protocol: "1");

        var legacy = await Send(Post(hub, "Bearer " + TestHub.PublisherToken()), hub);
        var v1 = await Send(Post(hub, "Bearer " + Token(hub, [Selector.Exact("*")], [])), hub);

        Assert.Equal((HttpStatusCode.Unauthorized, "invalid publisher token: token typ must be at+jwt"), (legacy.Status, legacy.Body));
        Assert.Equal(HttpStatusCode.OK, v1.Status);
    }
}
