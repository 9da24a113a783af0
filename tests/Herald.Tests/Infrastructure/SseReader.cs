using System.Net.ServerSentEvents;

namespace Herald.Tests.Infrastructure;

/// <summary>Reads an event stream with the runtime's own SSE parser, one event at a time, each read with a timeout.</summary>
internal sealed class SseReader : IAsyncDisposable
{
    private readonly IAsyncEnumerator<SseItem<string>> _events;
    private readonly CancellationTokenSource _cancel = new();

    private SseReader(HttpResponseMessage response, Stream body)
    {
        Response = response;
        _events = SseParser.Create(body).EnumerateAsync(_cancel.Token).GetAsyncEnumerator(_cancel.Token);
    }

    public HttpResponseMessage Response { get; }

    public static async Task<SseReader> OpenAsync(HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsStreamAsync();
        return new SseReader(response, body);
    }

    /// <summary>The next event, or fails after <paramref name="timeoutMs"/>. Returns null at the end of the stream.</summary>
    public async Task<SseItem<string>?> NextAsync(int timeoutMs = 30_000)
    {
        var next = _events.MoveNextAsync().AsTask();
        if (await Task.WhenAny(next, Task.Delay(timeoutMs)) != next)
        {
            Assert.Fail($"no event within {timeoutMs} ms");
        }

        return await next ? _events.Current : null;
    }

    /// <summary>Whether the stream ends (closed by the server) within the timeout.</summary>
    public async Task<bool> EndsWithinAsync(int timeoutMs)
    {
        var deadline = Environment.TickCount64 + timeoutMs;
        try
        {
            while (Environment.TickCount64 < deadline)
            {
                var next = _events.MoveNextAsync().AsTask();
                if (await Task.WhenAny(next, Task.Delay((int)Math.Max(1, deadline - Environment.TickCount64))) != next)
                {
                    return false;
                }

                if (!await next)
                {
                    return true;
                }
            }
        }
        catch (Exception e) when (e is IOException or HttpRequestException)
        {
            return true;
        }

        return false;
    }

    public async ValueTask DisposeAsync()
    {
        await _cancel.CancelAsync();
        Response.Dispose();
        _cancel.Dispose();
    }
}
