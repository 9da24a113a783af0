using System.Collections.Concurrent;
using System.Net;
using System.Text;
using Herald.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Herald.Tests.Diagnostics;

/// <summary>
/// <c>herald serve</c> with the standard <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> set sends its metrics and its spans there
/// (OTLP over HTTP, to a receiver of the test's own that keeps what it is sent).
/// </summary>
public sealed class MetricsOtlpExportTests
{
    [Fact]
    public async Task With_an_OTLP_endpoint_the_hub_sends_its_metrics_and_its_publish_spans_there()
    {
        var received = new ConcurrentQueue<(string Path, byte[] Body)>();
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        await using var receiver = builder.Build();
        receiver.MapPost("/v1/{signal}", async (HttpContext context) =>
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body);
            received.Enqueue((context.Request.Path.Value!, body.ToArray()));
            context.Response.ContentType = "application/x-protobuf";
        });
        await receiver.StartAsync().WaitAsync(TimeSpan.FromSeconds(30));
        var endpoint = Herald.Cli.HubServer.Addresses(receiver).First().TrimEnd('/');

        var environment = new Dictionary<string, string>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = endpoint,
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "500",
            ["OTEL_BSP_SCHEDULE_DELAY"] = "200",
        };
        await using var hub = await HubProcess.StartAsync(Path.Combine(Path.GetTempPath(), "herald-tests", Guid.NewGuid().ToString("N")), withKey: true, environment);
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        using (var request = new HttpRequestMessage(HttpMethod.Post, hub.HubUrl)
        {
            Content = new FormUrlEncodedContent([new("topic", "https://example.com/otlp"), new("data", "exported")]),
        })
        {
            request.Headers.Authorization = new("Bearer", TestHub.PublisherToken());
            using var response = await client.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        await TestHub.Eventually(() => Sent(received, "/v1/metrics", "herald.updates.published"), "the metrics sent over OTLP");
        await TestHub.Eventually(() => Sent(received, "/v1/traces", "herald.publish") && Sent(received, "/v1/traces", "herald.store.append"), "the publish span sent over OTLP");
        await receiver.StopAsync().WaitAsync(TimeSpan.FromSeconds(30));
    }

    /// <summary>Whether a request to <paramref name="path"/> carried <paramref name="text"/> (protobuf keeps names as UTF-8).</summary>
    private static bool Sent(ConcurrentQueue<(string Path, byte[] Body)> received, string path, string text)
        => received.Any(r => r.Path == path && Encoding.UTF8.GetString(r.Body).Contains(text, StringComparison.Ordinal));
}
