using Herald.Tests.Browser;
using Herald.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Herald.Tests.Client;

/// <summary><c>herald subscribe</c> and <c>herald publish</c> against Mercure 1.0 rules, as child processes against the real hub.</summary>
public sealed class CliMercureOneTests
{
    private const string Issuer = "https://issuer.example";

    [Fact]
    public async Task Error_Responses_publishing_to_a_topic_the_token_does_not_grant_says_insufficient_scope_and_what_to_fix()
    {
        await using var hub = await TestHub.StartAsync();

        var run = await ChildProcess.RunHeraldAsync(
            ["publish", "--hub", hub.HubUrl, "--token", TestHub.PublisherToken("https://example.com/other"), "--topic", "https://example.com/books/1", "--data", "x"]);

        Assert.Equal(1, run.ExitCode);
        Assert.Equal(string.Empty, run.Stdout);
        var line = Assert.Single(run.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        Assert.StartsWith("herald: publish failed: 403 Forbidden", line, StringComparison.Ordinal);
        Assert.Contains("insufficient_scope", line, StringComparison.Ordinal);
        Assert.Contains("does not grant publish on every --topic", line, StringComparison.Ordinal);
        Assert.Equal(0, hub.Hub.Metrics.Published);
    }

    [Fact]
    public async Task Presenting_the_Access_Token_subscribe_sends_the_token_in_the_header_and_only_matchers_in_the_query()
    {
        var seen = new TaskCompletionSource<(string Query, string Authorization, string LastEventId)>(TaskCreationOptions.RunContinuationsAsynchronously);
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        await using var app = builder.Build();
        app.MapGet("/.well-known/mercure", context =>
        {
            seen.TrySetResult((context.Request.QueryString.Value ?? "", context.Request.Headers.Authorization.ToString(), context.Request.Headers["Last-Event-ID"].ToString()));

            // 204: "stop reconnecting", so the command ends by itself.
            context.Response.StatusCode = StatusCodes.Status204NoContent;
            return Task.CompletedTask;
        });
        await app.StartAsync().WaitAsync(ChildProcess.DefaultTimeout);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();

        var run = await ChildProcess.RunHeraldAsync(
        [
            "subscribe", "--hub", address, "--token", "header.payload.signature", "--last-event-id", "urn:example:7",
            "--match", "https://example.com/a&b", "--urlpattern", "/books/:id", "--topic", "https://example.com/{x}",
        ]);
        var (query, authorization, lastEventId) = await seen.Task.WaitAsync(ChildProcess.DefaultTimeout);

        Assert.Equal((0, string.Empty), (run.ExitCode, run.Stderr));
        Assert.Equal("?match=https%3A%2F%2Fexample.com%2Fa%26b&match_urlpattern=%2Fbooks%2F%3Aid&topic=https%3A%2F%2Fexample.com%2F%7Bx%7D", query);
        Assert.Equal("Bearer header.payload.signature", authorization);
        Assert.Equal("urn:example:7", lastEventId);
    }

    [Fact]
    public async Task Subscription_subscribe_with_match_and_urlpattern_prints_what_a_1_0_token_published_once_each()
    {
        await using var hub = await TestHub.StartAsync(new Dictionary<string, string?> { ["Herald:Issuer"] = Issuer });
        var subscriber = AccessTokens.Hs256(TestHub.Key, Issuer, hub.HubUrl, ["subscribe"], ("*", "exact"));
        var publisher = AccessTokens.Hs256(TestHub.Key, Issuer, hub.HubUrl, ["publish"], ("https://example.com/books/:id", "urlpattern"));
        await using var reader = ChildProcess.StartHerald(
            ["subscribe", "--hub", hub.HubUrl, "--token", subscriber, "--match", "https://example.com/books/1", "--urlpattern", "https://example.com/books/:id", "--json"]);
        await TestHub.Eventually(() => hub.Hub.SubscriberCount == 1, "herald subscribe connected", 30_000);

        foreach (var (topic, id) in new[] { ("https://example.com/books/1", "urn:example:one"), ("https://example.com/books/2", "urn:example:two") })
        {
            var publish = await ChildProcess.RunHeraldAsync(
                ["publish", "--hub", hub.HubUrl, "--token", publisher, "--topic", topic, "--data", id, "--id", id, "--private"]);
            Assert.Equal((0, id + "\n", string.Empty), (publish.ExitCode, publish.Stdout.ReplaceLineEndings("\n"), publish.Stderr));
        }

        // Matched by both matchers, books/1 still arrives once; books/2 by the pattern alone. Private: the token grants it.
        Assert.Contains("\"id\":\"urn:example:one\"", await reader.NextLineAsync(), StringComparison.Ordinal);
        Assert.Contains("\"id\":\"urn:example:two\"", await reader.NextLineAsync(), StringComparison.Ordinal);
        Assert.Equal(string.Empty, reader.Stderr);
    }
}
