using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using Herald.Tests.Infrastructure;

namespace Herald.Tests.Diagnostics;

/// <summary>
/// The <c>Herald</c> activity source, listened to as an app's tracer would (<see cref="ActivityListener"/>): spans
/// continue the caller's W3C <c>traceparent</c>. Spans of other tests' hubs are told apart by their trace id.
/// </summary>
public sealed class TracingTests
{
    private const string Topic = "https://example.com/traced/books";

    [Fact]
    public async Task A_publish_with_a_traceparent_yields_a_publish_span_in_that_trace_with_the_store_append_inside()
    {
        using var spans = new StoppedSpans();
        await using var hub = await TestHub.StartAsync();
        var traceId = ActivityTraceId.CreateRandom();
        var callerSpan = ActivitySpanId.CreateRandom();

        using var request = new HttpRequestMessage(HttpMethod.Post, hub.HubUrl)
        {
            Content = new FormUrlEncodedContent([new("topic", Topic), new("data", "traced")]),
        };
        request.Headers.Authorization = new("Bearer", TestHub.PublisherToken());
        request.Headers.Add("traceparent", $"00-{traceId}-{callerSpan}-01");
        using (var response = await hub.Client.SendAsync(request).WaitAsync(TimeSpan.FromSeconds(30)))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        var publish = await spans.WaitForAsync("herald.publish", traceId);
        var append = await spans.WaitForAsync("herald.store.append", traceId);
        Assert.Equal(publish.SpanId, append.ParentSpanId);
        Assert.Equal(200, publish.GetTagItem("http.response.status_code"));
    }

    [Fact]
    public async Task A_subscription_on_the_direct_path_continues_the_traceparent_it_came_with()
    {
        using var spans = new StoppedSpans();
        await using var hub = await TestHub.StartAsync(new Dictionary<string, string?> { ["Herald:Anonymous"] = "true" });
        var traceId = ActivityTraceId.CreateRandom();
        var callerSpan = ActivitySpanId.CreateRandom();

        // A fresh connection whose first request is the subscription: served on Herald's own path, where no
        // ASP.NET Core request activity read the header first.
        using var client = new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
        var request = new HttpRequestMessage(HttpMethod.Get, hub.HubUrl + "?topic=" + Uri.EscapeDataString(Topic));
        request.Headers.Add("traceparent", $"00-{traceId}-{callerSpan}-01");
        var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).WaitAsync(TimeSpan.FromSeconds(30));
        await using var stream = await SseReader.OpenAsync(response);

        var subscribe = await spans.WaitForAsync("herald.subscribe", traceId);
        Assert.Equal(callerSpan, subscribe.ParentSpanId);
        Assert.Equal("direct", subscribe.GetTagItem("herald.subscription.server"));
    }

    /// <summary>Every <c>Herald</c> span stopped while it listens.</summary>
    private sealed class StoppedSpans : IDisposable
    {
        private readonly ActivityListener _listener;
        private readonly ConcurrentQueue<Activity> _stopped = new();

        public StoppedSpans()
        {
            _listener = new ActivityListener
            {
                ShouldListenTo = source => source.Name == "Herald",
                Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
                ActivityStopped = _stopped.Enqueue,
            };
            ActivitySource.AddActivityListener(_listener);
        }

        public async Task<Activity> WaitForAsync(string name, ActivityTraceId traceId)
        {
            var deadline = Environment.TickCount64 + 30_000;
            while (Environment.TickCount64 < deadline)
            {
                if (_stopped.FirstOrDefault(a => a.OperationName == name && a.TraceId == traceId) is { } found)
                {
                    return found;
                }

                await Task.Delay(20);
            }

            Assert.Fail($"no {name} span in trace {traceId}");
            return null!;
        }

        public void Dispose() => _listener.Dispose();
    }
}
