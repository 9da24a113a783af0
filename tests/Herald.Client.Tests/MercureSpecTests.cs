using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Herald.Client.Tests;

/// <summary>
/// The client side of Mercure 1.0, one test per rule, named after the spec section it follows: subscription URLs,
/// presenting the access token, reconnection (<c>Mercure-Last-Event-ID</c>), publication answers and RFC 6750 errors.
/// </summary>
public sealed class MercureSpecTests
{
    private static readonly Uri Hub = new("https://hub.example.com/.well-known/mercure");

    [Fact]
    public void Subscription_match_and_match_urlpattern_carry_the_matchers_percent_encoded_as_URLSearchParams_does()
    {
        var url = new MercureSubscribeUrl(Hub)
            .Match("https://example.com/books/1?a=b&c=d+e;f%")
            .Match("bar")
            .MatchUrlPattern("https://example.com/books/:id")
            .ToUri();

        Assert.Equal(
            "https://hub.example.com/.well-known/mercure?match=https%3A%2F%2Fexample.com%2Fbooks%2F1%3Fa%3Db%26c%3Dd%2Be%3Bf%25"
            + "&match=bar&match_urlpattern=https%3A%2F%2Fexample.com%2Fbooks%2F%3Aid",
            url.AbsoluteUri);
        var query = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(url.Query);
        Assert.Equal(["https://example.com/books/1?a=b&c=d+e;f%", "bar"], query["match"].Select(v => v ?? ""));
        Assert.Equal("https://example.com/books/:id", query["match_urlpattern"].ToString());
    }

    [Fact]
    public void Reconciliation_the_history_position_is_last_event_id_in_1_0_and_lastEventID_for_a_0_x_only_url()
    {
        var v1 = new MercureSubscribeUrl(Hub).Match("*").LastEventId("urn:uuid:1").ToUri();
        var legacy = new MercureSubscribeUrl(Hub).Topic("https://example.com/books/{id}").LastEventId("earliest").ToUri();
        var both = new MercureSubscribeUrl(Hub).Topic("/a").Match("/b").LastEventId("x").ToUri();

        Assert.Equal("?match=%2A&last_event_id=urn%3Auuid%3A1", v1.Query);
        Assert.Equal("?topic=https%3A%2F%2Fexample.com%2Fbooks%2F%7Bid%7D&lastEventID=earliest", legacy.Query);
        Assert.Equal("?topic=%2Fa&match=%2Fb&last_event_id=x", both.Query);
    }

    [Fact]
    public void Subscription_a_url_without_a_matcher_is_refused_before_anything_is_sent()
    {
        Assert.Throws<InvalidOperationException>(() => new MercureSubscribeUrl(Hub).LastEventId("x").ToUri());
        Assert.Throws<ArgumentException>(() => new MercureSubscribeUrl(Hub).Match(""));
        Assert.Throws<ArgumentException>(() => new MercureSubscribeUrl(new Uri("/hub", UriKind.Relative)));
    }

    [Fact]
    public void Subscription_the_hubs_own_query_is_kept_first()
    {
        var url = new MercureSubscribeUrl(new Uri("https://hub.example.com/.well-known/mercure?tenant=a")).Match("/t").ToUri();

        Assert.Equal("?tenant=a&match=%2Ft", url.Query);
    }

    [Fact]
    public async Task Presenting_the_Access_Token_the_token_goes_in_the_Authorization_header_and_never_in_the_url()
    {
        var seen = new TaskCompletionSource<(string Authorization, string Query)>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await TestServer.StartAsync(app => app.MapGet("/.well-known/mercure", async context =>
        {
            seen.TrySetResult((context.Request.Headers.Authorization.ToString(), context.Request.QueryString.Value ?? ""));
            await TestServer.StartStreamAsync(context, "data: hi\n\n");
            await TestServer.HoldAsync(context);
        }));
        var url = new MercureSubscribeUrl(server.Url(".well-known/mercure")).Match("https://example.com/a").ToUri();
        await using var client = new EventSourceClient(new EventSourceClientOptions
        {
            Url = url,
            AccessToken = "header.payload.signature",

            // The explicit token wins over a header of the same name.
            Headers = new Dictionary<string, string> { ["Authorization"] = "Bearer other" },
        });

        await using var messages = client.ReadAllAsync().GetAsyncEnumerator();
        Assert.True(await messages.MoveNextAsync().AsTask().WaitAsync(TestServer.Timeout));
        var (authorization, query) = await seen.Task.WaitAsync(TestServer.Timeout);

        Assert.Equal("Bearer header.payload.signature", authorization);
        Assert.Equal("?match=https%3A%2F%2Fexample.com%2Fa", query);
        Assert.DoesNotContain("header.payload", query, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("two words")]
    [InlineData("line\nbreak")]
    public void Presenting_the_Access_Token_a_token_that_cannot_be_one_header_value_is_refused(string token)
    {
        Assert.Throws<ArgumentException>(() => new EventSourceClient(new EventSourceClientOptions { Url = Hub, AccessToken = token }));
    }

    [Theory]
    [InlineData("Mercure-Last-Event-ID", "urn:uuid:41")]
    [InlineData("Mercure-Last-Event-ID", "earliest")]
    [InlineData("Last-Event-ID", "urn:uuid:7")]
    public async Task Reconciliation_the_position_the_hub_resumes_after_is_reported_when_the_stream_opens(string header, string value)
    {
        await using var server = await TestServer.StartAsync(app => app.MapGet("/hub", async context =>
        {
            context.Response.Headers[header] = value;
            await TestServer.StartStreamAsync(context, "id: next\ndata: hi\n\n");
            await TestServer.HoldAsync(context);
        }));
        await using var client = new EventSourceClient(new EventSourceClientOptions { Url = server.Url("hub"), InitialLastEventId = "urn:uuid:40" });
        var opened = new ConcurrentQueue<EventSourceOpenedEventArgs>();
        client.Opened += (_, e) => opened.Enqueue(e);

        await using var messages = client.ReadAllAsync().GetAsyncEnumerator();
        Assert.True(await messages.MoveNextAsync().AsTask().WaitAsync(TestServer.Timeout));

        var open = Assert.Single(opened);
        Assert.Equal("urn:uuid:40", open.LastEventId);
        Assert.Equal(value, open.ResumedAfter);
    }

    [Fact]
    public async Task Reconciliation_a_stream_opened_without_the_header_reports_no_position()
    {
        await using var server = await TestServer.StartAsync(app => app.MapGet("/hub", async context =>
        {
            await TestServer.StartStreamAsync(context, "data: hi\n\n");
            await TestServer.HoldAsync(context);
        }));
        await using var client = new EventSourceClient(new EventSourceClientOptions { Url = server.Url("hub") });
        EventSourceOpenedEventArgs? opened = null;
        client.Opened += (_, e) => opened = e;

        await using var messages = client.ReadAllAsync().GetAsyncEnumerator();
        Assert.True(await messages.MoveNextAsync().AsTask().WaitAsync(TestServer.Timeout));

        Assert.NotNull(opened);
        Assert.Null(opened.ResumedAfter);
    }

    [Fact]
    public async Task Publication_success_is_200_with_the_id_as_utf_8_text()
    {
        await using var server = await TestServer.StartAsync(app => app.MapPost("/hub", context =>
        {
            context.Response.ContentType = "text/plain; charset=utf-8";
            return context.Response.WriteAsync("urn:uuid:é-1", System.Text.Encoding.UTF8);
        }));
        using var publisher = new MercurePublisher(server.Url("hub"), "token");

        var id = await publisher.PublishAsync(new PublishRequest { Topics = ["https://example.com/a"] }).WaitAsync(TestServer.Timeout);

        Assert.Equal("urn:uuid:é-1", id);
    }

    [Theory]
    [InlineData(401, "Bearer error=\"invalid_token\", resource_metadata=\"https://hub.example.com/.well-known/oauth-protected-resource/.well-known/mercure\"", "invalid_token")]
    [InlineData(403, "Bearer error=\"insufficient_scope\", error_description=\"publish not granted\", resource_metadata=\"https://hub.example.com/.well-known/oauth-protected-resource/.well-known/mercure\"", "insufficient_scope")]
    [InlineData(400, "Bearer error=invalid_request", "invalid_request")]
    public async Task Error_Responses_the_RFC_6750_error_code_is_surfaced_in_the_exception(int status, string challenge, string error)
    {
        await using var server = await TestServer.StartAsync(app => app.MapPost("/hub", context =>
        {
            context.Response.StatusCode = status;
            context.Response.Headers.WWWAuthenticate = challenge;
            return Task.CompletedTask;
        }));
        using var publisher = new MercurePublisher(server.Url("hub"), "token");

        var failure = await Assert.ThrowsAsync<MercurePublishException>(
            () => publisher.PublishAsync(new PublishRequest { Topics = ["https://example.com/a"] }).WaitAsync(TestServer.Timeout));

        Assert.Equal((HttpStatusCode)status, failure.StatusCode);
        Assert.Equal(error, failure.BearerError);
        Assert.Contains(error, failure.Message, StringComparison.Ordinal);
        if (challenge.Contains("resource_metadata", StringComparison.Ordinal))
        {
            Assert.Equal("https://hub.example.com/.well-known/oauth-protected-resource/.well-known/mercure", failure.ResourceMetadata);
        }
    }

    [Fact]
    public async Task Error_Responses_a_bare_challenge_for_a_missing_token_has_no_error_code()
    {
        await using var server = await TestServer.StartAsync(app => app.MapPost("/hub", context =>
        {
            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
            context.Response.Headers.WWWAuthenticate = "Bearer resource_metadata=\"https://hub.example.com/m\"";
            context.Response.ContentType = "text/plain; charset=utf-8";
            return context.Response.WriteAsync("a token is required\n");
        }));
        using var publisher = new MercurePublisher(server.Url("hub"));

        var failure = await Assert.ThrowsAsync<MercurePublishException>(
            () => publisher.PublishAsync(new PublishRequest { Topics = ["https://example.com/a"] }).WaitAsync(TestServer.Timeout));

        Assert.Null(failure.BearerError);
        Assert.Equal("a token is required", failure.Reason);
        Assert.Equal("https://hub.example.com/m", failure.ResourceMetadata);
    }

    [Fact]
    public async Task Error_Responses_a_subscription_refused_with_insufficient_scope_fails_with_the_code()
    {
        await using var server = await TestServer.StartAsync(app => app.MapGet("/hub", context =>
        {
            context.Response.StatusCode = StatusCodes.Status403Forbidden;
            context.Response.Headers.WWWAuthenticate = "Bearer error=\"insufficient_scope\"";
            return Task.CompletedTask;
        }));
        await using var client = new EventSourceClient(new EventSourceClientOptions { Url = server.Url("hub"), AccessToken = "t" });

        var failure = await Assert.ThrowsAsync<EventSourceException>(async () =>
        {
            await foreach (var _ in client.ReadAllAsync().WithCancellation(new CancellationTokenSource(TestServer.Timeout).Token))
            {
            }
        });

        Assert.Equal(HttpStatusCode.Forbidden, failure.StatusCode);
        Assert.Equal("insufficient_scope", failure.BearerError);
    }

    [Theory]
    [InlineData("error=\"invalid_token\"", "invalid_token", null, null)]
    [InlineData("realm=\"hub\", error=invalid_token, error_description=\"say \\\"why\\\"\"", "invalid_token", "say \"why\"", null)]
    [InlineData("  resource_metadata=\"https://h/m\" ,error=\"insufficient_scope\"", "insufficient_scope", null, "https://h/m")]
    [InlineData("error=\"unterminated", null, null, null)]
    [InlineData("error=\"bell\u0007\"", null, null, null)]
    [InlineData("", null, null, null)]
    [InlineData("garbage without equals", null, null, null)]
    public void Error_Responses_the_challenge_parameters_are_read_as_RFC_9110_auth_params(string parameters, string? error, string? description, string? metadata)
    {
        Assert.Equal(new BearerChallenge(error, description, metadata), BearerChallenge.Parse(parameters));
    }
}
