using System.Collections.Concurrent;
using Herald.Sse;

namespace Herald.Dispatch;

/// <summary>
/// One timer for every open stream: each tick queues a heartbeat comment on the streams that wrote nothing
/// for a whole interval, and closes the streams whose deadline (token expiry, write timeout) has passed.
/// No timer per connection, and a busy stream never gets a heartbeat.
/// </summary>
internal sealed class HeartbeatTimer : IDisposable
{
    private readonly ConcurrentDictionary<Subscriber, byte> _streams = new();
    private readonly long _intervalMs;
    private readonly TimeProvider _deadlineClock;
    private readonly Timer _timer;

    /// <summary>
    /// Heartbeats after <paramref name="interval"/> of silence (zero: none). Deadlines are set and checked on
    /// <paramref name="deadlineClock"/> (<see cref="Now"/>): the hub's <see cref="TimeProvider"/>, so a test can move
    /// past a token's expiry or the write timeout instead of waiting for it on a busy machine.
    /// </summary>
    public HeartbeatTimer(TimeSpan interval, TimeProvider? deadlineClock = null)
    {
        _intervalMs = (long)interval.TotalMilliseconds;
        _deadlineClock = deadlineClock ?? TimeProvider.System;

        // Ticking at a quarter of the interval bounds the silence on a stream to 1.25 intervals; at most a
        // second apart so deadlines are honoured promptly even when heartbeats are off.
        var tick = TimeSpan.FromMilliseconds(_intervalMs > 0 ? Math.Clamp(_intervalMs / 4, 50, 1000) : 1000);
        _timer = new Timer(static s => ((HeartbeatTimer)s!).Tick(), this, tick, tick);
    }

    public int Count => _streams.Count;

    /// <summary>Milliseconds on <paramref name="clock"/>'s monotonic timestamp: what <see cref="Subscriber.DeadlineTicks"/> counts in.</summary>
    public static long Now(TimeProvider clock) => (long)clock.GetElapsedTime(0).TotalMilliseconds;

    public void Add(Subscriber stream) => _streams.TryAdd(stream, 0);

    public void Remove(Subscriber stream) => _streams.TryRemove(stream, out _);

    private void Tick()
    {
        var now = Environment.TickCount64;
        var deadlineNow = Now(_deadlineClock);
        foreach (var (stream, _) in _streams)
        {
            if (stream.DeadlineTicks != 0 && deadlineNow >= stream.DeadlineTicks)
            {
                stream.Close(stream.DeadlineReason);
            }
            else if (_intervalMs > 0 && now - stream.LastWriteTicks >= _intervalMs)
            {
                stream.TryEnqueue(SseFrame.Heartbeat);
            }
        }
    }

    public void Dispose() => _timer.Dispose();
}
