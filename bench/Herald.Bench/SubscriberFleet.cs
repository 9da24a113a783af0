using System.Net;
using System.Net.Sockets;

namespace Herald.Bench;

/// <summary>
/// The subscribers of one process. Every connection owns a fixed slice of one pinned slab, and connections
/// rotate over source addresses 127.0.0.1, 127.0.0.2, … so that no single address runs out of ports.
/// </summary>
internal sealed class SubscriberFleet : IFleet
{
    private const int ConnectConcurrency = 64;
    private const int BlockingConnectThreads = 8;

    private readonly BenchSettings _settings;
    private readonly int _count;
    private readonly int _firstIndex;
    private readonly SubscriberConnection[] _connections;
    private readonly EpollReceiver<SubscriberConnection>[] _receivers;
    private long _connected;
    private long _headers;
    private long _subscribed;
    private long _errors;
    private string? _firstError;

    public SubscriberFleet(BenchSettings settings, int count, int firstIndex)
    {
        _settings = settings;
        _count = count;
        _firstIndex = firstIndex;
        var bufferBytes = settings.ReceiveBufferBytes;
        var slab = GC.AllocateUninitializedArray<byte>(count * bufferBytes, pinned: true);
        _connections = new SubscriberConnection[count];
        for (var i = 0; i < count; i++)
        {
            _connections[i] = new SubscriberConnection(this, slab, i * bufferBytes, bufferBytes);
        }

        // Over TLS every receive goes through SslStream on the runtime's sockets, so no epoll receivers.
        _receivers = settings.Sockets == SocketApi.Epoll && count > 0 && !settings.Subscribe.Tls
            ? [.. Enumerable.Range(0, Math.Clamp(settings.ReceiveThreads, 1, count)).Select(r => new EpollReceiver<SubscriberConnection>(_connections, $"bench-epoll-{r}"))]
            : [];
    }

    public LatencyRecorder Latency { get; } = new();

    public bool Stopping { get; private set; }

    /// <summary>Opens every connection, a bounded number at a time; failures are counted, not thrown.</summary>
    public async Task ConnectAllAsync(CancellationToken cancellationToken)
    {
        var request = _settings.Subscribe.SubscribeRequest(_settings.SubscriberToken);
        var target = _settings.Subscribe.EndPoint;
        var next = -1;

        if (_receivers.Length > 0)
        {
            // Blocking connects on a few threads of their own: loopback connects finish at once, and the
            // sockets stay unknown to the runtime's socket engine (see EpollReceiver).
            var threads = new Thread[Math.Min(_count, BlockingConnectThreads)];
            for (var t = 0; t < threads.Length; t++)
            {
                threads[t] = new Thread(() =>
                {
                    int i;
                    while ((i = Interlocked.Increment(ref next)) < _count && !cancellationToken.IsCancellationRequested)
                    {
                        Connect(i, c => c.Connect(SourceAddress(_firstIndex + i, _settings.SourceAddresses), target, request));
                    }
                })
                { IsBackground = true, Name = "bench-connect" };
                threads[t].Start();
            }

            await Task.Run(() => Array.ForEach(threads, t => t.Join()), CancellationToken.None);
            return;
        }

        var loops = new Task[Math.Min(_count, ConnectConcurrency)];
        for (var l = 0; l < loops.Length; l++)
        {
            loops[l] = Task.Run(async () =>
            {
                int i;
                while ((i = Interlocked.Increment(ref next)) < _count && !cancellationToken.IsCancellationRequested)
                {
                    var source = SourceAddress(_firstIndex + i, _settings.SourceAddresses);
                    try
                    {
                        await _connections[i].ConnectAsync(source, target, request, cancellationToken, _settings.Subscribe.Tls ? _settings.Subscribe.HostHeader : null);
                        Interlocked.Increment(ref _connected);
                    }
                    catch (SocketException e)
                    {
                        OnError($"connect from {source}: {e.SocketErrorCode} ({e.Message})");
                        _connections[i].Close();
                    }
                    catch (Exception e) when (e is IOException or System.Security.Authentication.AuthenticationException)
                    {
                        OnError($"TLS from {source}: {e.Message}");
                        _connections[i].Close();
                    }
                    catch (OperationCanceledException)
                    {
                        _connections[i].Close();
                    }
                }
            }, CancellationToken.None);
        }

        await Task.WhenAll(loops);
    }

    private void Connect(int i, Action<SubscriberConnection> connect)
    {
        try
        {
            connect(_connections[i]);
            _receivers[i % _receivers.Length].Add(i);
            Interlocked.Increment(ref _connected);
        }
        catch (Exception e) when (e is SocketException or IOException)
        {
            OnError($"connect from {SourceAddress(_firstIndex + i, _settings.SourceAddresses)}: {e.Message}");
            _connections[i].Close();
        }
    }

    public static IPAddress SourceAddress(int index, int addresses)
        => new(new byte[] { 127, 0, 0, (byte)(1 + (index % addresses)) });

    public FleetCounters Read() => new(
        Interlocked.Read(ref _connected),
        Interlocked.Read(ref _headers),
        Interlocked.Read(ref _subscribed),
        Latency.Count,
        Interlocked.Read(ref _errors));

    public Task<FleetReport> StopAsync()
    {
        var counters = Read();
        var latency = Latency.Snapshot();
        Stopping = true;
        foreach (var receiver in _receivers)
        {
            receiver.Stop();
        }

        foreach (var connection in _connections)
        {
            connection.Close();
        }

        return Task.FromResult(new FleetReport(counters, latency, _firstError));
    }

    internal void OnHeaders() => Interlocked.Increment(ref _headers);

    internal void OnSubscribed() => Interlocked.Increment(ref _subscribed);

    internal void OnError(string reason)
    {
        if (Stopping)
        {
            return;
        }

        Interlocked.Increment(ref _errors);
        Interlocked.CompareExchange(ref _firstError, reason, null);
    }
}
