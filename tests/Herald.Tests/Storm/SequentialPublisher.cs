using System.Net.Http.Headers;

namespace Herald.Tests.Storm;

/// <summary>
/// Publishes one update at a time with explicit sequential ids (<c>{prefix}-1</c>, <c>{prefix}-2</c>, …) and keeps going
/// while the hub is down: an update is acknowledged only when the hub answered 200; anything else (refused, reset, a
/// 5xx) counts as failed and the next update gets the next id. One at a time, so the acknowledged list is in the order
/// the hub stored the updates.
/// </summary>
internal sealed class SequentialPublisher : IDisposable
{
    private static readonly TimeSpan PublishTimeout = TimeSpan.FromSeconds(30);

    private readonly HttpClient _http = new() { Timeout = PublishTimeout };
    private readonly Func<Uri> _hubUrl;
    private readonly string _topic;
    private readonly string _prefix;
    private readonly List<string> _acknowledged = [];
    private long _next;
    private int _failed;

    /// <param name="hubUrl">Where each publish goes (asked before each one, so a test can switch nodes).</param>
    public SequentialPublisher(Func<Uri> hubUrl, string token, string topic, string prefix)
    {
        _hubUrl = hubUrl;
        _topic = topic;
        _prefix = prefix;
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
    }

    /// <summary>The ids the hub answered 200 for, in publishing order.</summary>
    public IReadOnlyList<string> Acknowledged
    {
        get
        {
            lock (_acknowledged)
            {
                return [.. _acknowledged];
            }
        }
    }

    public int AcknowledgedCount
    {
        get
        {
            lock (_acknowledged)
            {
                return _acknowledged.Count;
            }
        }
    }

    public int Failed => Volatile.Read(ref _failed);

    /// <summary>Publishes until <paramref name="stop"/> is cancelled; a failure waits a little before the next id.</summary>
    public async Task RunAsync(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            if (!await PublishNextAsync())
            {
                await Task.Delay(50, CancellationToken.None);
            }
        }
    }

    /// <summary>Publishes the next id once; true when acknowledged.</summary>
    public async Task<bool> PublishNextAsync()
    {
        var id = $"{_prefix}-{Interlocked.Increment(ref _next)}";
        try
        {
            using var body = new FormUrlEncodedContent([new("topic", _topic), new("id", id), new("data", id)]);
            using var response = await _http.PostAsync(_hubUrl(), body);
            if (response.IsSuccessStatusCode)
            {
                lock (_acknowledged)
                {
                    _acknowledged.Add(id);
                }

                return true;
            }
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
        {
            // The hub is down or died mid-request: not acknowledged (it may still have stored it; subscribers may see it).
        }

        Interlocked.Increment(ref _failed);
        return false;
    }

    public void Dispose() => _http.Dispose();
}
