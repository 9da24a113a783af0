using Herald.Client;

namespace Herald.Tests.Redis;

/// <summary>
/// One subscriber of a reconnect storm: an <see cref="EventSourceClient"/> reading in the background, resuming with
/// <c>Last-Event-ID</c> after every dropped stream, counting how often it received each update (by the number its data
/// starts with).
/// </summary>
internal sealed class StormSubscriber : IAsyncDisposable
{
    private readonly EventSourceClient _client;
    private readonly CancellationTokenSource _stop = new();
    private readonly Dictionary<long, int> _received = [];
    private readonly Task _pump;
    private int _opened;
    private int _resumedElsewhere;
    private string? _lastError;

    public StormSubscriber(HttpClient http, string url)
    {
        // Short waits: the test reconnects a few hundred clients at once and wants them back soon; the jitter the
        // client adds still spreads them.
        _client = new EventSourceClient(new EventSourceClientOptions
        {
            Url = new Uri(url),
            HttpClient = http,
            InitialLastEventId = "earliest",
            ReconnectDelay = TimeSpan.FromMilliseconds(300),
            MaxReconnectDelay = TimeSpan.FromSeconds(3),
        });
        _client.Opened += (_, e) =>
        {
            Interlocked.Increment(ref _opened);

            // The hub resumed after another id than the one asked for: an unknown id, history lost (a cause of loss).
            if (e.LastEventId.Length > 0 && e.LastEventId != "earliest" && e.ResumedAfter != e.LastEventId)
            {
                Interlocked.Increment(ref _resumedElsewhere);
            }
        };
        _client.Error += (_, e) => Volatile.Write(ref _lastError, $"{e.Exception.GetType().Name}: {e.Exception.Message} (retry: {e.WillRetry}, failures: {e.ConsecutiveFailures})");
        _pump = PumpAsync();
    }

    /// <summary>How many streams it opened (1 + reconnections).</summary>
    public int Opened => Volatile.Read(ref _opened);

    /// <summary>Resumes the hub answered with another position than the one the client asked for.</summary>
    public int ResumedElsewhere => Volatile.Read(ref _resumedElsewhere);

    /// <summary>What went wrong last (a failed attempt, a dropped stream), and whether it stopped reading; for failure messages.</summary>
    public string State => $"opened {Opened}, {(_pump.IsCompleted ? "stopped: " + _pump.Exception?.InnerException : "reading")}, last error {Volatile.Read(ref _lastError)}";

    /// <summary>How many distinct updates it received.</summary>
    public int Count
    {
        get
        {
            lock (_received)
            {
                return _received.Count;
            }
        }
    }

    /// <summary>The numbers among <paramref name="expected"/> it has not received.</summary>
    public List<long> Missing(IReadOnlyCollection<long> expected)
    {
        lock (_received)
        {
            return [.. expected.Where(n => !_received.ContainsKey(n))];
        }
    }

    /// <summary>The numbers it received more than once.</summary>
    public List<long> Duplicated()
    {
        lock (_received)
        {
            return [.. _received.Where(r => r.Value > 1).Select(r => r.Key)];
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _pump.WaitAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        await _client.DisposeAsync();
        _stop.Dispose();
    }

    private async Task PumpAsync()
    {
        await Task.Yield();
        await foreach (var message in _client.ReadAllAsync(_stop.Token))
        {
            if (message.EventType == SseMessage.DefaultEventType && long.TryParse(message.Data.AsSpan(0, Math.Max(0, message.Data.IndexOf(' ', StringComparison.Ordinal))), out var number))
            {
                lock (_received)
                {
                    _received[number] = _received.GetValueOrDefault(number) + 1;
                }
            }
        }
    }
}
