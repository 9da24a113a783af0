using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace Herald.Client.Tests;

public sealed class MercurePublisherTests
{
    [Fact]
    public async Task Publishing_posts_the_form_with_the_token_and_returns_the_id()
    {
        var received = new TaskCompletionSource<(string? Authorization, string? ContentType, Dictionary<string, StringValues> Form)>(
            TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await TestServer.StartAsync(app => app.MapPost("/.well-known/mercure", async context =>
        {
            var form = await context.Request.ReadFormAsync(context.RequestAborted);
            received.TrySetResult((
                context.Request.Headers.Authorization.ToString(),
                context.Request.ContentType,
                form.ToDictionary(f => f.Key, f => f.Value)));
            context.Response.ContentType = "text/plain";
            await context.Response.WriteAsync("urn:uuid:1b3e1f7c-0000-4000-8000-000000000001");
        }));
        using var publisher = new MercurePublisher(server.Url(".well-known/mercure"), "the.jwt.token");

        var id = await publisher.PublishAsync(
            new PublishRequest
            {
                Topics = ["https://example.com/books/1", "/books/{id}"],
                Data = "{\"title\": \"Dune & co\"}\nline two",
                Private = true,
                EventId = "book-1",
                EventType = "update",
                ReconnectionInterval = TimeSpan.FromSeconds(5),
            },
            CancellationToken.None).WaitAsync(TestServer.Timeout);
        var (authorization, contentType, form) = await received.Task.WaitAsync(TestServer.Timeout);

        Assert.Equal("urn:uuid:1b3e1f7c-0000-4000-8000-000000000001", id);
        Assert.Equal("Bearer the.jwt.token", authorization);
        Assert.StartsWith("application/x-www-form-urlencoded", contentType, StringComparison.Ordinal);
        Assert.Equal(["https://example.com/books/1", "/books/{id}"], form["topic"].Select(t => t ?? ""));
        Assert.Equal("{\"title\": \"Dune & co\"}\nline two", form["data"].ToString());
        Assert.Equal("on", form["private"].ToString());
        Assert.Equal("book-1", form["id"].ToString());
        Assert.Equal("update", form["type"].ToString());
        Assert.Equal("5000", form["retry"].ToString());
    }

    [Fact]
    public async Task Fields_left_unset_are_not_sent()
    {
        var received = new TaskCompletionSource<(string Authorization, string[] Keys)>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await TestServer.StartAsync(app => app.MapPost("/hub", async context =>
        {
            var form = await context.Request.ReadFormAsync(context.RequestAborted);
            received.TrySetResult((context.Request.Headers.Authorization.ToString(), form.Keys.ToArray()));
            await context.Response.WriteAsync("generated-id\n");
        }));
        using var publisher = new MercurePublisher(server.Url("hub"));

        var id = await publisher.PublishAsync(new PublishRequest { Topics = ["/t"] }).WaitAsync(TestServer.Timeout);
        var (authorization, keys) = await received.Task.WaitAsync(TestServer.Timeout);

        Assert.Equal("generated-id", id);
        Assert.Equal("", authorization);
        Assert.Equal(["topic"], keys);
    }

    [Theory]
    [InlineData(400, "missing topic")]
    [InlineData(401, "invalid token: signature mismatch")]
    [InlineData(403, "the token may not publish to /secret")]
    [InlineData(413, "the update is larger than 1 MiB")]
    [InlineData(503, "the history store is unavailable")]
    public async Task A_refusal_is_a_typed_error_with_the_hubs_reason(int status, string reason)
    {
        await using var server = await TestServer.StartAsync(app => app.MapPost("/hub", context =>
        {
            context.Response.StatusCode = status;
            context.Response.ContentType = "text/plain";
            return context.Response.WriteAsync(reason + "\n");
        }));
        using var publisher = new MercurePublisher(server.Url("hub"), "token");

        var failure = await Assert.ThrowsAsync<MercurePublishException>(
            () => publisher.PublishAsync(new PublishRequest { Topics = ["/t"], Data = "x" }).WaitAsync(TestServer.Timeout));

        Assert.Equal((HttpStatusCode)status, failure.StatusCode);
        Assert.Equal(reason, failure.Reason);
        Assert.Contains($"{status} ", failure.Message, StringComparison.Ordinal);
        Assert.EndsWith(": " + reason, failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_reason_of_a_JSON_problem_is_its_detail()
    {
        await using var server = await TestServer.StartAsync(app => app.MapPost("/hub", context =>
        {
            context.Response.StatusCode = StatusCodes.Status403Forbidden;
            context.Response.ContentType = "application/problem+json";
            return context.Response.WriteAsync("{\"title\":\"Forbidden\",\"detail\":\"topic not allowed\"}");
        }));
        using var publisher = new MercurePublisher(server.Url("hub"), "token");

        var failure = await Assert.ThrowsAsync<MercurePublishException>(
            () => publisher.PublishAsync(new PublishRequest { Topics = ["/t"] }).WaitAsync(TestServer.Timeout));

        Assert.Equal("topic not allowed", failure.Reason);
    }

    [Fact]
    public async Task A_refusal_without_a_body_still_names_the_status()
    {
        await using var server = await TestServer.StartAsync(app => app.MapPost("/hub", context =>
        {
            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
            return Task.CompletedTask;
        }));
        using var publisher = new MercurePublisher(server.Url("hub"), "token");

        var failure = await Assert.ThrowsAsync<MercurePublishException>(
            () => publisher.PublishAsync(new PublishRequest { Topics = ["/t"] }).WaitAsync(TestServer.Timeout));

        Assert.Null(failure.Reason);
        Assert.Equal(HttpStatusCode.Unauthorized, failure.StatusCode);
        Assert.EndsWith("401 Unauthorized", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_update_without_a_topic_is_refused_before_sending()
    {
        using var publisher = new MercurePublisher(new Uri("http://127.0.0.1:1/hub"), "token");

        await Assert.ThrowsAsync<ArgumentException>(() => publisher.PublishAsync(new PublishRequest { Topics = [] }).WaitAsync(TestServer.Timeout));
    }

    [Theory]
    [InlineData("", null, null)]
    [InlineData("\n\n  first line  \nsecond", "text/plain", "first line")]
    [InlineData("{\"title\":\"Bad\"}", "application/json", "Bad")]
    [InlineData("{\"detail\":\"multi\\nline\"}", "application/problem+json", "multi line")]
    [InlineData("not json", "application/json", "not json")]
    public void The_reason_is_one_line(string body, string? mediaType, string? expected)
    {
        Assert.Equal(expected, ResponseReason.Extract(System.Text.Encoding.UTF8.GetBytes(body), mediaType));
    }

    [Fact]
    public void A_long_reason_is_shortened()
    {
        var reason = ResponseReason.Extract(System.Text.Encoding.UTF8.GetBytes(new string('x', 5000)), "text/plain");

        Assert.NotNull(reason);
        Assert.True(reason.Length <= 301);
        Assert.EndsWith("…", reason, StringComparison.Ordinal);
    }
}
