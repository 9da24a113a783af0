using System.Net;
using System.Net.Sockets;

namespace Herald.Cli.Bench;

/// <summary>What a set of subscribers has done so far: cheap to read, read often for the progress line.</summary>
internal readonly record struct FleetCounters(long Connected, long Headers, long Subscribed, long Received, long Errors)
{
    public static FleetCounters operator +(FleetCounters a, FleetCounters b) => new(
        a.Connected + b.Connected, a.Headers + b.Headers, a.Subscribed + b.Subscribed, a.Received + b.Received, a.Errors + b.Errors);
}

/// <summary>What a set of subscribers reports once stopped.</summary>
internal sealed record FleetReport(FleetCounters Counters, Histogram Latency, string? FirstError);

/// <summary>Subscribers held either in this process or by a worker process.</summary>
internal interface IFleet
{
    FleetCounters Read();

    Task<FleetReport> StopAsync();
}

/// <summary>
/// The subscribers of one process. Every connection owns a fixed slice of one pinned slab, and connections
/// rotate over source addresses 127.0.0.1, 127.0.0.2, … so that no single address runs out of ports.
/// </summary>
internal sealed class SubscriberFleet : IFleet
{
    private const int ConnectConcurrency = 64;

    private readonly BenchSettings _settings;
    private readonly int _count;
    private readonly int _firstIndex;
    private readonly SubscriberConnection[] _connections;
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
    }

    public LatencyRecorder Latency { get; } = new();

    public bool Stopping { get; private set; }

    /// <summary>Opens every connection, a bounded number at a time; failures are counted, not thrown.</summary>
    public async Task ConnectAllAsync(CancellationToken cancellationToken)
    {
        var request = _settings.Subscribe.SubscribeRequest(_settings.SubscriberToken);
        var target = _settings.Subscribe.EndPoint;
        var next = -1;
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
                        await _connections[i].ConnectAsync(source, target, request, cancellationToken);
                        Interlocked.Increment(ref _connected);
                    }
                    catch (SocketException e)
                    {
                        OnError($"connect from {source}: {e.SocketErrorCode} ({e.Message})");
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
