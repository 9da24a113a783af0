using System.Collections.Concurrent;
using Herald.Sse;

namespace Herald.Dispatch;

/// <summary>
/// One timer for every open stream: each tick queues a heartbeat comment on the streams that wrote nothing
/// for a whole interval. No timer per connection, and a busy stream never gets one.
/// </summary>
internal sealed class HeartbeatTimer : IDisposable
{
    private readonly ConcurrentDictionary<Subscriber, byte> _streams = new();
    private readonly long _intervalMs;
    private readonly Timer? _timer;

    public HeartbeatTimer(TimeSpan interval)
    {
        _intervalMs = (long)interval.TotalMilliseconds;
        if (_intervalMs > 0)
        {
            // Ticking at a quarter of the interval bounds the silence on a stream to 1.25 intervals.
            var tick = TimeSpan.FromMilliseconds(Math.Max(50, _intervalMs / 4));
            _timer = new Timer(static s => ((HeartbeatTimer)s!).Tick(), this, tick, tick);
        }
    }

    public int Count => _streams.Count;

    public void Add(Subscriber stream) => _streams.TryAdd(stream, 0);

    public void Remove(Subscriber stream) => _streams.TryRemove(stream, out _);

    private void Tick()
    {
        var now = Environment.TickCount64;
        foreach (var (stream, _) in _streams)
        {
            if (now - stream.LastWriteTicks >= _intervalMs)
            {
                stream.TryEnqueue(SseFrame.Heartbeat);
            }
        }
    }

    public void Dispose() => _timer?.Dispose();
}
