using System.Net;
using Herald.Client;

namespace Herald.Tests.Storm;

/// <summary>
/// Many subscribers, each an <see cref="EventSourceClient"/> (which resumes with <c>Last-Event-ID</c> by itself when its
/// stream drops), recording every event id it is handed, in order. A storm test kills the hub under them and then asks
/// <see cref="Check"/> whether each holds every acknowledged update exactly once and in order; store-agnostic, so the
/// SQLite and the Redis storm tests share it.
/// </summary>
internal sealed class StormFleet : IAsyncDisposable
{
    private readonly HttpClient _http;
    private readonly string _token;
    private readonly Subscriber[] _subscribers;
    private readonly CancellationTokenSource _stop = new();

    /// <param name="urls">One subscription URL per subscriber (spread them over nodes for a cluster).</param>
    /// <param name="token">The subscribers' bearer token.</param>
    public StormFleet(IReadOnlyList<Uri> urls, string token)
    {
        _token = token;

        // One pool for all: HTTP/1.1 opens a connection per stream, with no per-server cap.
        _http = new HttpClient(new SocketsHttpHandler { AutomaticDecompression = DecompressionMethods.None }) { Timeout = Timeout.InfiniteTimeSpan };
        _subscribers = [.. urls.Select(url => new Subscriber(url))];
    }

    public int Count => _subscribers.Length;

    /// <summary>Connects every subscriber (each reconnects by itself from then on).</summary>
    public void Start()
    {
        foreach (var subscriber in _subscribers)
        {
            Run(subscriber, subscriber.Url, lastEventId: null);
        }
    }

    /// <summary>
    /// Sends subscriber <paramref name="index"/> to another URL, resuming after the last id it received, as a client
    /// behind a load balancer lands on another node when its own dies.
    /// </summary>
    public async Task MoveAsync(int index, Uri url)
    {
        var subscriber = _subscribers[index];
        await subscriber.StopAsync();
        Run(subscriber, url, subscriber.LastId);
    }

    /// <summary>
    /// Publishes warm-up updates through <paramref name="warmUp"/> until one has reached every subscriber: each is then
    /// surely registered, and has a Last-Event-ID to resume from, before the counted updates start. Fails the test after
    /// 120 s.
    /// </summary>
    public async Task WarmUpAsync(SequentialPublisher warmUp)
    {
        var deadline = Environment.TickCount64 + 120_000;
        while (Environment.TickCount64 < deadline)
        {
            if (await warmUp.PublishNextAsync())
            {
                var id = warmUp.Acknowledged[^1];
                var until = Environment.TickCount64 + 2_000;
                while (Environment.TickCount64 < until)
                {
                    if (CountHolding(id) == Count)
                    {
                        return;
                    }

                    await Task.Delay(50);
                }
            }
            else
            {
                await Task.Delay(200);
            }
        }

        Assert.Fail($"warm-up: not every subscriber received an update within 120 s ({FirstFailure})");
    }

    /// <summary>How many subscribers have received the event with <paramref name="id"/>.</summary>
    public int CountHolding(string id) => _subscribers.Count(s => s.Holds(id));

    /// <summary>Subscribers whose enumeration ended for good (a final failure), with the first such error.</summary>
    public string? FirstFailure => _subscribers.Select(s => s.Failure).FirstOrDefault(f => f is not null);

    /// <summary>
    /// Whether every subscriber holds every id of <paramref name="acknowledged"/> (in the order given) exactly once and in
    /// that order. Ids it received that are not in the list (unacknowledged publishes a dying hub stored anyway, warm-up
    /// events) are allowed once each; received twice they count as duplicates too.
    /// </summary>
    public StormVerdict Check(IReadOnlyList<string> acknowledged)
    {
        var order = new Dictionary<string, int>(acknowledged.Count);
        for (var i = 0; i < acknowledged.Count; i++)
        {
            order[acknowledged[i]] = i;
        }

        long lost = 0, duplicated = 0, outOfOrder = 0, incomplete = 0;
        string? example = null;
        for (var n = 0; n < _subscribers.Length; n++)
        {
            var ids = _subscribers[n].Snapshot();
            var seen = new HashSet<string>(ids.Count);
            var last = -1;
            var subscriberLost = acknowledged.Count;
            foreach (var id in ids)
            {
                if (!seen.Add(id))
                {
                    duplicated++;
                    example ??= $"subscriber {n} received '{id}' twice";
                    continue;
                }

                if (order.TryGetValue(id, out var position))
                {
                    subscriberLost--;
                    if (position < last)
                    {
                        outOfOrder++;
                        example ??= $"subscriber {n} received '{id}' after '{acknowledged[last]}'";
                    }

                    last = Math.Max(last, position);
                }
            }

            if (subscriberLost > 0)
            {
                incomplete++;
                lost += subscriberLost;
                example ??= $"subscriber {n} lacks '{acknowledged.First(id => !seen.Contains(id))}' ({subscriberLost} acknowledged updates missing)";
            }
        }

        return new StormVerdict(lost, duplicated, outOfOrder, incomplete, example);
    }

    /// <summary>
    /// Polls <see cref="Check"/> until no acknowledged update is missing, or <paramref name="timeout"/> passes (duplicates
    /// and disorder never heal, so they do not end the wait); returns the last verdict.
    /// </summary>
    public async Task<StormVerdict> WaitForEveryAcknowledgedAsync(IReadOnlyList<string> acknowledged, TimeSpan timeout)
    {
        var deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        while (true)
        {
            var verdict = Check(acknowledged);
            if (verdict.Lost == 0 || Environment.TickCount64 > deadline)
            {
                return verdict;
            }

            await Task.Delay(100);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_subscribers.Select(s => s.StopAsync())).WaitAsync(TimeSpan.FromSeconds(30));
        _http.Dispose();
        _stop.Dispose();
    }

    private void Run(Subscriber subscriber, Uri url, string? lastEventId)
    {
        var client = new EventSourceClient(new EventSourceClientOptions
        {
            Url = url,
            AccessToken = _token,
            InitialLastEventId = lastEventId,
            HttpClient = _http,

            // Back soon while the hub restarts (the client still adds its random 0–25 %), capped so that a hub that is
            // slow to come back under load is found within a second of answering.
            ReconnectDelay = TimeSpan.FromMilliseconds(100),
            MaxReconnectDelay = TimeSpan.FromSeconds(1),
        });
        subscriber.Attach(client, CancellationTokenSource.CreateLinkedTokenSource(_stop.Token));
    }

    /// <summary>One subscriber: its client, the read loop, and every id it was handed.</summary>
    private sealed class Subscriber(Uri url)
    {
        private readonly List<string> _ids = [];
        private readonly HashSet<string> _held = [];
        private EventSourceClient? _client;
        private CancellationTokenSource? _cancel;
        private Task _reading = Task.CompletedTask;

        public Uri Url { get; } = url;

        public string? Failure { get; private set; }

        public string? LastId
        {
            get
            {
                lock (_ids)
                {
                    return _ids.Count > 0 ? _ids[^1] : null;
                }
            }
        }

        public void Attach(EventSourceClient client, CancellationTokenSource cancel)
        {
            (_client, _cancel) = (client, cancel);
            _reading = Task.Run(() => ReadAsync(client, cancel.Token));
        }

        public bool Holds(string id)
        {
            lock (_ids)
            {
                return _held.Contains(id);
            }
        }

        public List<string> Snapshot()
        {
            lock (_ids)
            {
                return [.. _ids];
            }
        }

        public async Task StopAsync()
        {
            if (_cancel is { } cancel)
            {
                await cancel.CancelAsync();
                await _reading.WaitAsync(TimeSpan.FromSeconds(30));
                await _client!.DisposeAsync();
                cancel.Dispose();
                _cancel = null;
            }
        }

        private async Task ReadAsync(EventSourceClient client, CancellationToken cancellationToken)
        {
            try
            {
                await foreach (var message in client.ReadAllAsync(cancellationToken))
                {
                    lock (_ids)
                    {
                        _ids.Add(message.LastEventId);
                        _held.Add(message.LastEventId);
                    }
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
            }
            catch (EventSourceException e)
            {
                Failure = e.Message;
            }
        }
    }
}
