using System.Net.ServerSentEvents;

namespace Herald.Tests.Cluster;

/// <summary>
/// A subscriber that reads its stream in the background and records every event (id and data), across
/// connections: it can leave one node and come back on another with <c>Last-Event-ID</c>, as an EventSource does.
/// </summary>
internal sealed class ClusterSubscriber : IAsyncDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    private readonly string _query;
    private readonly string _token;
    private readonly List<(string Id, string Data)> _events = [];
    private CancellationTokenSource _stop = new();
    private Task _pump = Task.CompletedTask;

    private ClusterSubscriber(string query, string token)
    {
        _query = query;
        _token = token;
    }

    public List<(string Id, string Data)> Events
    {
        get
        {
            lock (_events)
            {
                return [.. _events];
            }
        }
    }

    public List<string> Ids => [.. Events.Select(e => e.Id)];

    /// <summary>
    /// Subscribes to <paramref name="selectors"/> on <paramref name="node"/> with a token for <paramref name="token"/>'s
    /// claims. <c>Last-Event-ID: earliest</c> by default: the hub answers before it registers a subscriber, and a
    /// replay from the start means nothing published meanwhile can slip by.
    /// </summary>
    public static async Task<ClusterSubscriber> OpenAsync(ClusterNode node, string token, string[] selectors, string lastEventId = "earliest")
    {
        var subscriber = new ClusterSubscriber(string.Join('&', selectors.Select(s => "topic=" + Uri.EscapeDataString(s))), token);
        await subscriber.ConnectAsync(node, lastEventId);
        return subscriber;
    }

    /// <summary>Leaves the current node: the stream is closed by the client, and what it received stays recorded.</summary>
    public async Task CloseAsync()
    {
        await _stop.CancelAsync();
        await _pump.WaitAsync(Deadline);
        _stop.Dispose();
        _stop = new CancellationTokenSource();
    }

    /// <summary>Reconnects, to <paramref name="node"/>, with the id of the last event it received (an EventSource's reconnection).</summary>
    public async Task ResumeOnAsync(ClusterNode node)
    {
        var last = Events is { Count: > 0 } events ? events[^1].Id : "earliest";
        await ConnectAsync(node, last);
    }

    /// <summary>Waits, polling with a deadline, until the events received satisfy <paramref name="condition"/>.</summary>
    public async Task WaitUntilAsync(Func<List<(string Id, string Data)>, bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Deadline;
        while (!condition(Events))
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for {what}; received {Events.Count} events");
            await Task.Delay(20);
        }
    }

    /// <summary>Waits until the event with <paramref name="id"/> arrived; returns the ids received before it.</summary>
    public async Task<List<string>> IdsBeforeAsync(string id)
    {
        await WaitUntilAsync(events => events.Any(e => e.Id == id), "event " + id);
        var ids = Ids;
        return ids[..ids.IndexOf(id)];
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _pump.WaitAsync(Deadline).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _stop.Dispose();
    }

    private async Task ConnectAsync(ClusterNode node, string lastEventId)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, node.HubUrl + "?" + _query);
        request.Headers.Authorization = new("Bearer", _token);
        request.Headers.Add("Last-Event-ID", lastEventId);
        var response = await node.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, _stop.Token).WaitAsync(Deadline);
        Assert.True(response.IsSuccessStatusCode, $"subscribe on {node.BaseUrl} answered {(int)response.StatusCode}");
        var body = await response.Content.ReadAsStreamAsync().WaitAsync(Deadline);
        var stop = _stop.Token;
        _pump = Task.Run(() => PumpAsync(response, body, stop));
    }

    private async Task PumpAsync(HttpResponseMessage response, Stream body, CancellationToken stop)
    {
        try
        {
            await foreach (var item in SseParser.Create(body).EnumerateAsync(stop))
            {
                if (item.EventId is { Length: > 0 } id)
                {
                    lock (_events)
                    {
                        _events.Add((id, item.Data));
                    }
                }
            }
        }
        catch (Exception e) when (e is IOException or HttpRequestException or OperationCanceledException)
        {
            // The client left, or the node closed the stream.
        }
        finally
        {
            response.Dispose();
        }
    }
}
