using System.Net.ServerSentEvents;
using Herald.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Herald.Tests.EventStreams;

/// <summary>MapEventStream on real Kestrel.</summary>
public sealed class EventStreamTests
{
    private static async Task<(WebApplication App, HttpClient Client)> StartAsync(Action<WebApplication> map, CapturingLoggerProvider? logs = null)
    {
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        if (logs is not null)
        {
            builder.Logging.AddProvider(logs);
        }

        var app = builder.Build();
        map(app);
        await app.StartAsync().WaitAsync(TimeSpan.FromSeconds(30));
        var address = Herald.Cli.HubServer.Addresses(app).First();
        return (app, new HttpClient { BaseAddress = new Uri(address) });
    }

    [Fact]
    public async Task Headers_arrive_before_the_first_event()
    {
        var firstEvent = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var (app, client) = await StartAsync(a => a.MapEventStream("/stream", async (stream, ct) =>
        {
            await firstEvent.Task.WaitAsync(ct);
            await stream.SendAsync("first", ct);
        }));
        await using var _ = app;

        using var response = await client.GetAsync("/stream", HttpCompletionOption.ResponseHeadersRead).WaitAsync(TimeSpan.FromSeconds(30));

        // The handler has not sent anything yet, but the headers are here.
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("no-cache", response.Headers.CacheControl?.ToString());
        Assert.Equal("no", response.Headers.GetValues("X-Accel-Buffering").Single());
        Assert.Equal("identity", response.Content.Headers.ContentEncoding.Single());
        firstEvent.SetResult();
        await using var reader = await SseReader.OpenAsync(response);
        Assert.Equal("first", (await reader.NextAsync())?.Data);
    }

    [Fact]
    public async Task Events_arrive_one_by_one_without_buffering()
    {
        var gate = new SemaphoreSlim(0);
        var (app, client) = await StartAsync(a => a.MapEventStream("/stream", async (stream, ct) =>
        {
            for (var i = 0; i < 3; i++)
            {
                await gate.WaitAsync(ct);
                await stream.SendAsync(new ServerSentEvent(i.ToString(System.Globalization.CultureInfo.InvariantCulture), EventId: "e" + i), ct);
            }
        }));
        await using var _ = app;
        using var response = await client.GetAsync("/stream", HttpCompletionOption.ResponseHeadersRead);
        await using var reader = await SseReader.OpenAsync(response);

        for (var i = 0; i < 3; i++)
        {
            gate.Release();
            var item = await reader.NextAsync();
            Assert.Equal(i.ToString(System.Globalization.CultureInfo.InvariantCulture), item?.Data);
            Assert.Equal("e" + i, item?.EventId);
        }

        Assert.True(await reader.EndsWithinAsync(30_000), "the stream should end when the handler returns");
    }

    [Fact]
    public async Task Heartbeats_arrive_on_an_idle_stream()
    {
        var (app, client) = await StartAsync(a => a.MapEventStream(
            "/stream",
            (stream, ct) => Task.Delay(Timeout.Infinite, ct),
            new EventStreamOptions { Heartbeat = TimeSpan.FromMilliseconds(200) }));
        await using var _ = app;
        using var response = await client.GetAsync("/stream", HttpCompletionOption.ResponseHeadersRead);
        await using var body = await response.Content.ReadAsStreamAsync();

        // Raw bytes: the opening comment, then heartbeat comments, though the handler sends nothing.
        var received = new List<byte>();
        var buffer = new byte[256];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (received.Count(b => b == (byte)':') < 4)
        {
            var n = await body.ReadAsync(buffer, timeout.Token);
            Assert.NotEqual(0, n);
            received.AddRange(buffer.AsSpan(0, n).ToArray());
        }

        var lines = System.Text.Encoding.ASCII.GetString(received.ToArray()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length >= 4, $"{lines.Length} comment lines");
        Assert.All(lines, line => Assert.StartsWith(":", line, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_client_disconnect_ends_the_handler_quietly()
    {
        var logs = new CapturingLoggerProvider();
        var ended = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        var (app, client) = await StartAsync(
            a => a.MapEventStream("/stream", async (stream, ct) =>
            {
                try
                {
                    while (true)
                    {
                        await stream.SendAsync("tick", ct);
                        await Task.Delay(20, ct);
                    }
                }
                finally
                {
                    ended.TrySetResult(ct.IsCancellationRequested);
                }
            }),
            logs);
        await using var _ = app;

        var response = await client.GetAsync("/stream", HttpCompletionOption.ResponseHeadersRead);
        var reader = await SseReader.OpenAsync(response);
        Assert.Equal("tick", (await reader.NextAsync())?.Data);
        await reader.DisposeAsync();
        client.Dispose();

        Assert.True(await ended.Task.WaitAsync(TimeSpan.FromSeconds(30)), "the handler's token should be cancelled");

        // An exception escaping the endpoint would be logged by Kestrel before the host logs the request as
        // finished, so once that line is in, every error this request could cause has been logged.
        await TestHub.Eventually(() => logs.Entries.Any(e => e.Category == "Microsoft.AspNetCore.Hosting.Diagnostics" && e.Message.StartsWith("Request finished", StringComparison.Ordinal)), "the request to finish");
        Assert.DoesNotContain(logs.Entries, e => e.Level >= LogLevel.Error);
    }

    [Fact]
    public async Task The_handler_sees_Last_Event_ID()
    {
        var (app, client) = await StartAsync(a => a.MapEventStream("/stream", (stream, ct) => stream.SendAsync("resume after " + stream.LastEventId, ct).AsTask()));
        await using var _ = app;
        using var request = new HttpRequestMessage(HttpMethod.Get, "/stream");
        request.Headers.Add("Last-Event-ID", "42");

        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        await using var reader = await SseReader.OpenAsync(response);

        Assert.Equal("resume after 42", (await reader.NextAsync())?.Data);
    }

    [Fact]
    public async Task An_async_enumerable_handler_streams_its_items()
    {
        static async IAsyncEnumerable<ServerSentEvent> Produce(HttpContext context, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
        {
            for (var i = 0; i < 3; i++)
            {
                await Task.Yield();
                yield return new ServerSentEvent("n" + i, EventType: "count");
            }
        }

        var (app, client) = await StartAsync(a => a.MapEventStream("/stream", Produce));
        await using var _ = app;
        using var response = await client.GetAsync("/stream", HttpCompletionOption.ResponseHeadersRead);
        var items = new List<SseItem<string>>();
        await foreach (var item in SseParser.Create(await response.Content.ReadAsStreamAsync()).EnumerateAsync().WithCancellation(new CancellationTokenSource(30_000).Token))
        {
            items.Add(item);
        }

        Assert.Equal(["n0", "n1", "n2"], items.Select(i => i.Data));
        Assert.All(items, i => Assert.Equal("count", i.EventType));
    }

    [Fact]
    public async Task An_invalid_id_fails_the_send_with_a_clear_error()
    {
        var failure = new TaskCompletionSource<Exception>(TaskCreationOptions.RunContinuationsAsynchronously);
        var (app, client) = await StartAsync(a => a.MapEventStream("/stream", async (stream, ct) =>
        {
            try
            {
                await stream.SendAsync(new ServerSentEvent("x", EventId: "a\nb"), ct);
            }
            catch (ArgumentException e)
            {
                failure.SetResult(e);
            }
        }));
        await using var _ = app;
        using var response = await client.GetAsync("/stream", HttpCompletionOption.ResponseHeadersRead);

        var error = await failure.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Contains("must not contain CR, LF or NUL", error.Message, StringComparison.Ordinal);
    }
}
