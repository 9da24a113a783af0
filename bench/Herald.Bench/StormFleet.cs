using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Herald.Bench;

/// <summary>
/// The subscribers of the storm workload (f), in this process, spread over the hub's nodes (subscriber i on node
/// i mod nodes). A dropped subscriber waits until its node answers again (or, when its node is gone for good, is sent to
/// a surviving one), then reconnects with its last id; a few threads do the blocking connects, so all of them come back
/// at once: the storm.
/// </summary>
internal sealed class StormFleet
{
    private const int ConnectThreads = 16;
    private static readonly long RetryTicks = Stopwatch.Frequency / 10;

    private readonly BenchSettings _settings;
    private readonly IPEndPoint[] _nodes;
    private readonly StormSubscriber[] _subscribers;
    private readonly EpollReceiver<StormSubscriber>[] _receivers;
    private readonly bool[] _nodeUp;
    private readonly int[]?[] _redirect;
    private readonly ConcurrentQueue<(int Index, long Due)> _reconnect = new();
    private readonly Thread[] _connectors;
    private volatile bool _stopping;
    private long _killedAt;
    private long _connected;
    private long _subscribed;
    private long _reconnects;
    private long _refused;
    private long _dropped;
    private long _errors;
    private long _lastAnswerAt;
    private string? _firstError;

    public StormFleet(BenchSettings settings, IReadOnlyList<IPEndPoint> nodes, string idPrefix)
    {
        _settings = settings;
        _nodes = [.. nodes];
        _nodeUp = [.. nodes.Select(_ => true)];
        _redirect = new int[nodes.Count][];
        IdPrefix = Encoding.ASCII.GetBytes(idPrefix);
        // Replays arrive in large writes and are read a buffer at a time (level-triggered); 4 KB holds many events, and
        // 10,000 subscribers then pin 40 MB.
        var bufferBytes = Math.Max(4096, settings.ReceiveBufferBytes);
        var slab = GC.AllocateUninitializedArray<byte>(settings.Subscribers * bufferBytes, pinned: true);
        _subscribers = new StormSubscriber[settings.Subscribers];
        for (var i = 0; i < _subscribers.Length; i++)
        {
            _subscribers[i] = new StormSubscriber(this, i, slab, i * bufferBytes, bufferBytes) { Node = i % _nodes.Length };
        }

        _receivers = [.. Enumerable.Range(0, Math.Clamp(settings.ReceiveThreads, 1, Math.Max(1, _subscribers.Length)))
            .Select(r => new EpollReceiver<StormSubscriber>(_subscribers, $"bench-storm-epoll-{r}"))];
        _connectors = new Thread[ConnectThreads];
        for (var t = 0; t < _connectors.Length; t++)
        {
            _connectors[t] = new Thread(ConnectLoop) { IsBackground = true, Name = "bench-storm-connect" };
        }
    }

    public byte[] IdPrefix { get; }

    public IReadOnlyList<StormSubscriber> Subscribers => _subscribers;

    /// <summary>When (Stopwatch timestamp) the node was killed; updates published later are live after the storm.</summary>
    public long KilledAt => Interlocked.Read(ref _killedAt);

    public long Connected => Interlocked.Read(ref _connected);

    public long Subscribed => Interlocked.Read(ref _subscribed);

    /// <summary>Connections that got a 200 after the kill.</summary>
    public long Reconnects => Interlocked.Read(ref _reconnects);

    /// <summary>Connection attempts refused (no listener, or an answer other than 200).</summary>
    public long Refused => Interlocked.Read(ref _refused);

    /// <summary>Streams that ended under a subscriber.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    public long Errors => Interlocked.Read(ref _errors);

    public string? FirstError => Volatile.Read(ref _firstError);

    /// <summary>When the last reconnection after the kill was answered with 200 (Stopwatch timestamp).</summary>
    public long LastAnswerAt => Interlocked.Read(ref _lastAnswerAt);

    /// <summary>Connects every subscriber to its node (each reconnects by itself from then on).</summary>
    public void Start()
    {
        for (var i = 0; i < _subscribers.Length; i++)
        {
            _reconnect.Enqueue((i, 0));
        }

        foreach (var thread in _connectors)
        {
            thread.Start();
        }
    }

    /// <summary>Marks the kill: later publishes are live, and the node's subscribers wait for it (or go elsewhere).</summary>
    public void OnKill(int node, int[]? survivors)
    {
        _redirect[node] = survivors;
        Volatile.Write(ref _nodeUp[node], survivors is not null);
        Interlocked.Exchange(ref _killedAt, Stopwatch.GetTimestamp());
    }

    /// <summary>The node answers again: its subscribers may reconnect.</summary>
    public void OnNodeUp(int node) => Volatile.Write(ref _nodeUp[node], true);

    public void Stop()
    {
        _stopping = true;
        foreach (var thread in _connectors)
        {
            thread.Join();
        }

        foreach (var receiver in _receivers)
        {
            receiver.Stop();
        }

        foreach (var subscriber in _subscribers)
        {
            subscriber.Close();
        }
    }

    internal void OnDropped(StormSubscriber subscriber, string? error)
    {
        if (_stopping)
        {
            return;
        }

        Interlocked.Increment(ref _dropped);
        if (KilledAt > 0)
        {
            subscriber.WasCut = true;
        }
        else if (error is not null)
        {
            OnError(error);
        }

        // Straight back in line: a node that is down makes it wait in ConnectLoop; a dead node's subscribers move.
        if (_redirect[subscriber.Node] is { } survivors)
        {
            subscriber.Node = survivors[subscriber.Index % survivors.Length];
        }

        _reconnect.Enqueue((subscriber.Index, 0));
    }

    internal void OnRefused() => Interlocked.Increment(ref _refused);

    internal void OnAnswered(StormSubscriber subscriber)
    {
        if (KilledAt > 0 && subscriber.WasCut)
        {
            Interlocked.Increment(ref _reconnects);
            Interlocked.Exchange(ref _lastAnswerAt, Stopwatch.GetTimestamp());
        }
    }

    internal void OnSubscribed() => Interlocked.Increment(ref _subscribed);

    internal void OnError(string reason)
    {
        Interlocked.Increment(ref _errors);
        Interlocked.CompareExchange(ref _firstError, reason, null);
    }

    private void ConnectLoop()
    {
        var request = _settings.Subscribe;
        while (!_stopping)
        {
            if (!_reconnect.TryDequeue(out var next))
            {
                Thread.Sleep(1);
                continue;
            }

            var subscriber = _subscribers[next.Index];
            if (!Volatile.Read(ref _nodeUp[subscriber.Node]) || Stopwatch.GetTimestamp() < next.Due)
            {
                // Not yet: back in line. The queue is in due order, so a head that must wait means everyone must.
                _reconnect.Enqueue(next);
                Thread.Sleep(1);
                continue;
            }

            try
            {
                subscriber.Connect(SubscriberFleet.SourceAddress(next.Index, _settings.SourceAddresses), _nodes[subscriber.Node], request, _settings.SubscriberToken);
                if (KilledAt == 0)
                {
                    Interlocked.Increment(ref _connected);
                }

                _receivers[next.Index % _receivers.Length].Add(next.Index);
            }
            catch (IOException e)
            {
                // epoll_ctl failed: nothing will read this stream, so it cannot count as connected.
                OnError(e.Message);
                subscriber.Close();
            }
            catch (SocketException)
            {
                // Nobody listening yet (a restarting hub binds late), or the accept queue is full: try again shortly.
                Interlocked.Increment(ref _refused);
                _reconnect.Enqueue((next.Index, Stopwatch.GetTimestamp() + RetryTicks));
            }
        }
    }
}
