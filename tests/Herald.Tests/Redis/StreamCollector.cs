using System.Net.ServerSentEvents;

namespace Herald.Tests.Redis;

/// <summary>
/// A subscriber that keeps reading in the background and records every event id it receives, across reconnects:
/// after its node dies it resumes on another one with <c>Last-Event-ID</c>, as an EventSource would.
/// </summary>
internal sealed class StreamCollector : IAsyncDisposable
{
    private readonly HttpClient _client;
    private readonly string _query;
    private readonly List<string> _ids = [];
    private readonly CancellationTokenSource _stop = new();
    private TaskCompletionSource _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task _pump = Task.CompletedTask;

    private StreamCollector(HttpClient client, string query)
    {
        _client = client;
        _query = query;
    }

    /// <summary>Completes when the current stream ends (the node closed it or died).</summary>
    public Task Ended => _ended.Task;

    public string? LastId
    {
        get
        {
            lock (_ids)
            {
                return _ids.Count == 0 ? null : _ids[^1];
            }
        }
    }

    public int Count
    {
        get
        {
            lock (_ids)
            {
                return _ids.Count;
            }
        }
    }

    public List<string> Ids
    {
        get
        {
            lock (_ids)
            {
                return [.. _ids];
            }
        }
    }

    /// <summary>Subscribes on <paramref name="hubUrl"/>; <c>lastEventID=earliest</c> so no update can slip by before registration.</summary>
    public static async Task<StreamCollector> OpenAsync(HttpClient client, string hubUrl, string selector)
    {
        var collector = new StreamCollector(client, "topic=" + Uri.EscapeDataString(selector));
        await collector.ConnectAsync(hubUrl, "earliest");
        return collector;
    }

    /// <summary>Subscribes on <paramref name="hubUrl"/> resuming after <paramref name="lastEventId"/>, as a reconnecting EventSource does.</summary>
    public static async Task<StreamCollector> ResumeAsync(HttpClient client, string hubUrl, string selector, string lastEventId)
    {
        var collector = new StreamCollector(client, "topic=" + Uri.EscapeDataString(selector));
        await collector.ConnectAsync(hubUrl, lastEventId);
        return collector;
    }

    /// <summary>Reconnects to <paramref name="hubUrl"/> with the last id received, like a browser's EventSource.</summary>
    public Task ResumeOnAsync(string hubUrl) => ConnectAsync(hubUrl, LastId ?? "earliest");

    /// <summary>Waits, with a deadline, until at least <paramref name="count"/> events arrived.</summary>
    public async Task WaitForAsync(int count, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (Count < count)
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"only {Count} of {count} events arrived within {timeout.TotalSeconds} s");
            }

            await Task.Delay(20);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _pump.WaitAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _stop.Dispose();
    }

    private async Task ConnectAsync(string hubUrl, string lastEventId)
    {
        await _pump.WaitAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _ended = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var request = new HttpRequestMessage(HttpMethod.Get, hubUrl + "?" + _query);
        request.Headers.Add("Last-Event-ID", lastEventId);
        var response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, _stop.Token).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(response.IsSuccessStatusCode, $"subscribe on {hubUrl} answered {(int)response.StatusCode}");
        var body = await response.Content.ReadAsStreamAsync().WaitAsync(TimeSpan.FromSeconds(30));
        _pump = Task.Run(() => PumpAsync(response, body));
    }

    private async Task PumpAsync(HttpResponseMessage response, Stream body)
    {
        try
        {
            await foreach (var item in SseParser.Create(body).EnumerateAsync(_stop.Token))
            {
                if (item.EventId is { Length: > 0 } id)
                {
                    lock (_ids)
                    {
                        _ids.Add(id);
                    }
                }
            }
        }
        catch (Exception e) when (e is IOException or HttpRequestException or OperationCanceledException)
        {
            // The node died or the test is over.
        }
        finally
        {
            response.Dispose();
            _ended.TrySetResult();
        }
    }
}
