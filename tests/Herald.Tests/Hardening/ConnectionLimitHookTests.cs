using System.Text;
using Herald.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Herald.Tests.Hardening;

/// <summary>
/// <c>UseHeraldConnectionLimit</c> in an app that embeds the hub (Kestrel's own transport, public connection
/// middleware only): <see cref="HeraldOptions.MaxConnections"/> holds for every connection on the endpoint, the excess
/// gets the same 503 as from <c>herald serve</c>, and a place freed by a closed connection is taken again.
/// </summary>
public sealed class ConnectionLimitHookTests
{
    private const string Topic = "https://example.com/hook";

    [Fact]
    public async Task Connections_over_MaxConnections_get_503_with_Retry_After_until_one_closes()
    {
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.WebHost.ConfigureKestrel(k => k.ConfigureEndpointDefaults(listen => listen.UseHeraldConnectionLimit().UseHeraldSubscriptions()));
        builder.Logging.ClearProviders();
        builder.Services.AddHerald(o =>
        {
            o.Anonymous = true;
            o.MaxConnections = 2;
        });
        var app = builder.Build();
        app.MapHerald();
        await app.StartAsync().WaitAsync(TimeSpan.FromSeconds(30));
        await using var _ = app;
        var baseUrl = Herald.Cli.HubServer.Addresses(app).First().TrimEnd('/');
        var subscription = Encoding.ASCII.GetBytes(
            $"GET /.well-known/mercure?topic={Uri.EscapeDataString(Topic)} HTTP/1.1\r\nHost: {new Uri(baseUrl).Authority}\r\n\r\n");

        var first = await RawHttp.ConnectAsync(baseUrl);
        using var second = await RawHttp.ConnectAsync(baseUrl);
        try
        {
            Assert.Equal(200, (await RawHttp.SendAsync(first, subscription)).Status);
            Assert.Equal(200, (await RawHttp.SendAsync(second, subscription)).Status);

            // Any request over the limit, a subscription or not, is refused before anything reads it.
            foreach (var request in new[] { subscription, Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n") })
            {
                using var over = await RawHttp.ConnectAsync(baseUrl);
                var response = await RawHttp.SendAsync(over, request);
                Assert.True(response.Status == 503, response.Head);
                Assert.True(int.TryParse(response.Header("Retry-After"), out var seconds) && seconds > 0, response.Head);
                Assert.Equal("close", response.Header("Connection"));
                var body = response.Rest + await RawHttp.ReadToEndAsync(over.GetStream());
                Assert.Equal("too many connections to the hub, retry later\n", body);
            }
        }
        finally
        {
            first.Dispose();
        }

        // The first subscriber's place comes back once the hub sees it gone.
        var deadline = Environment.TickCount64 + 30_000;
        while (true)
        {
            using var again = await RawHttp.ConnectAsync(baseUrl);
            var response = await RawHttp.SendAsync(again, subscription);
            if (response.Status == 200)
            {
                break;
            }

            Assert.True(response.Status == 503, response.Head);
            Assert.True(Environment.TickCount64 < deadline, "the place of a closed connection never came back");
            await Task.Delay(100);
        }
    }
}
