using System.Globalization;
using System.Text;
using Herald.Dispatch;

namespace Herald.Mercure;

/// <summary>
/// A graceful shutdown's end of every stream, spread over <see cref="HeraldOptions.ShutdownDrain"/> instead of all at
/// once: each stream is sent a <c>retry:</c> hint, then closed at its turn, so the clients do not come back as one storm.
/// </summary>
/// <remarks>
/// The hint is relative to the moment the stream closes (EventSource waits that long after losing the connection):
/// the rest of the drain, a second for the server to stop listening (<see cref="Settle"/>), and a random share of
/// <see cref="HeraldOptions.ShutdownReconnectSpread"/>. So no well-behaved
/// client comes back while this hub still drains (a 503 ends a browser's EventSource for good), and the clients come
/// back spread over the spread window, to the restarted hub or to another node. Waits run on the hub's clock; nothing
/// here holds the dispatcher's lock (it works on a snapshot).
/// </remarks>
internal sealed class ShutdownDrain
{
    /// <summary>How often the next share of streams is closed: fine enough to spread them, few enough timer waits (50 for 5 s).</summary>
    private static readonly TimeSpan Step = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// Fewest streams closed in one step: a hub with few streams has no storm to spread, so it stops at once (a hub with
    /// 10 streams in one step, one with 500 or more over the whole window) instead of holding its shutdown for the window.
    /// </summary>
    private const int MinShare = 10;

    /// <summary>Longest wait for a stream's writer to put the hint on the wire before the stream is closed anyway (a stalled client).</summary>
    private static readonly TimeSpan FlushWait = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Added to every hint: after the drain the server still has to stop listening, and a client that comes back in that
    /// moment would meet a 503 (which ends a browser's EventSource) rather than a refused connection (which it retries).
    /// </summary>
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(1);

    private readonly TimeSpan _window;
    private readonly TimeSpan _spread;
    private readonly TimeProvider _time;
    private readonly long _start;
    private long _lengthTicks;

    /// <summary>Starts the drain's clock now; a negative window or spread counts as zero.</summary>
    public ShutdownDrain(TimeSpan window, TimeSpan spread, TimeProvider time)
    {
        _window = window > TimeSpan.Zero ? window : TimeSpan.Zero;
        _spread = spread > TimeSpan.Zero ? spread : TimeSpan.Zero;
        _time = time;
        _start = time.GetTimestamp();
    }

    /// <summary>The <c>Retry-After</c> (whole seconds) for a subscription refused during the drain: its rest, <see cref="Settle"/> and the spread.</summary>
    public string RetryAfterSeconds
    {
        get
        {
            var left = TimeSpan.FromTicks(Interlocked.Read(ref _lengthTicks)) - _time.GetElapsedTime(_start);
            var wait = (left > TimeSpan.Zero ? left : TimeSpan.Zero) + Settle + _spread;
            return Math.Max(1, (long)Math.Ceiling(wait.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        }
    }

    /// <summary>
    /// Closes <paramref name="streams"/> in a random order, an equal share every <see cref="Step"/> (at least
    /// <see cref="MinShare"/>, over the window at most), and completes when every one is closed. Cancelled (the host's
    /// shutdown timeout ran out), it closes the rest at once.
    /// </summary>
    public async Task RunAsync(IReadOnlyList<Subscriber> streams, CancellationToken cancellationToken)
    {
        var order = streams.ToArray();
        Random.Shared.Shuffle(order);
        var stepsInWindow = Math.Max(1, (int)Math.Ceiling(_window / Step));
        var stepLength = _window / stepsInWindow;
        var steps = Math.Min(stepsInWindow, (order.Length + MinShare - 1) / MinShare);
        var length = stepLength * steps;
        Interlocked.Exchange(ref _lengthTicks, length.Ticks);
        var closing = new List<Task>(order.Length);
        var next = 0;
        try
        {
            for (var step = 0; step < steps; step++)
            {
                var due = stepLength * step;
                var wait = due - _time.GetElapsedTime(_start);
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, _time, cancellationToken).ConfigureAwait(false);
                }

                for (var end = (int)((long)order.Length * (step + 1) / steps); next < end; next++)
                {
                    closing.Add(CloseAsync(order[next], length - due));
                }
            }
        }
        catch (OperationCanceledException)
        {
            for (; next < order.Length; next++)
            {
                order[next].TryEnqueue(RetryFrame(Settle + Jitter()));
                order[next].Close(CloseReason.Shutdown);
            }
        }

        await Task.WhenAll(closing).ConfigureAwait(false);
    }

    private async Task CloseAsync(Subscriber stream, TimeSpan restOfDrain)
    {
        if (stream.TryEnqueue(RetryFrame(restOfDrain + Settle + Jitter())))
        {
            try
            {
                await stream.WhenIdleAsync().WaitAsync(FlushWait, _time).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // The client does not read: it gets no hint, and the drain does not wait for it.
            }
        }

        stream.Close(CloseReason.Shutdown);
    }

    private TimeSpan Jitter() => _spread * Random.Shared.NextDouble();

    /// <summary>
    /// A frame holding only <c>retry:</c>: it sets the client's reconnection time and dispatches no event (there is no
    /// data). One array per stream, once, at shutdown.
    /// </summary>
    internal static byte[] RetryFrame(TimeSpan retry)
        => Encoding.ASCII.GetBytes("retry: " + ((long)retry.TotalMilliseconds).ToString(CultureInfo.InvariantCulture) + "\n\n");
}
