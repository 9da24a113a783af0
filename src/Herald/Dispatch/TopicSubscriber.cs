using Herald.Topics;

namespace Herald.Dispatch;

/// <summary>A subscriber that receives the updates whose topics match its selectors.</summary>
/// <remarks>
/// A subscriber resuming from history is registered before its replay starts, so no live update can slip
/// between the two. While it catches up, live frames are held with their sequence; when the replay reaches
/// sequence N, the held frames above N are queued and the rest dropped: no gap and no duplicate. A frame at or
/// below N that is offered after the catch-up ended is dropped too: a store raises its last sequence at commit,
/// before it dispatches, so a replay can read an update whose live frame comes only after the replay is over.
/// </remarks>
internal sealed class TopicSubscriber : Subscriber
{
    private readonly object _holdGate = new();
    private List<(byte[] Frame, long Sequence)>? _held;
    private volatile bool _catchingUp;

    // Written before _catchingUp is cleared and read after it, so a frame that finds the catch-up over sees it.
    // Nothing replayed yet: no sequence (benchmarks dispatch sequence 0) is at or below it.
    private long _replayedThrough = long.MinValue;

    public TopicSubscriber(
        SubscriberOutput output,
        WriterLoop loop,
        TopicSelection selection,
        TopicSelection? privateSelection,
        int capacity,
        long maxQueuedBytes = long.MaxValue,
        Action? abort = null)
        : base(output, loop, capacity, maxQueuedBytes, abort)
    {
        Selection = selection;
        PrivateSelection = privateSelection ?? TopicSelection.None;
    }

    /// <summary>The topic selectors this subscriber asked for.</summary>
    public IReadOnlyList<Selector> Selectors => Selection.Selectors;

    /// <summary>Its selectors, compiled when the subscription opened (never under the publish lock).</summary>
    public TopicSelection Selection { get; }

    /// <summary>Selectors (from the <c>mercure.subscribe</c> claim) of the private updates it may see, compiled.</summary>
    public TopicSelection PrivateSelection { get; }

    /// <summary>Whether live frames are still being held for a replay (tests wait on it).</summary>
    internal bool IsCatchingUp => _catchingUp;

    /// <summary>Holds live frames from now on, until <see cref="EndCatchUpAsync"/>. Call before registering.</summary>
    public void BeginCatchUp()
    {
        lock (_holdGate)
        {
            _held = [];
            _catchingUp = true;
        }
    }

    /// <summary>Queues a live frame, or holds it while the subscriber replays history.</summary>
    /// <param name="frame">The encoded update.</param>
    /// <param name="sequence">Its position in history.</param>
    /// <param name="startWriter">Set when the caller must start this subscriber's writer.</param>
    public bool Offer(byte[] frame, long sequence, out bool startWriter)
    {
        startWriter = false;
        if (_catchingUp)
        {
            lock (_holdGate)
            {
                if (_held is { } held)
                {
                    if (held.Count >= Capacity)
                    {
                        Close(CloseReason.Overflow);
                        return false;
                    }

                    held.Add((frame, sequence));
                    return true;
                }
            }
        }

        if (sequence <= Volatile.Read(ref _replayedThrough))
        {
            // The replay already sent it (its live dispatch ran after the catch-up ended).
            return true;
        }

        return TryEnqueue(frame, out startWriter);
    }

    /// <summary>
    /// The replay has sent everything up to <paramref name="replayedThrough"/>: queue the held frames after it,
    /// waiting for the client like the replay did (a client still draining its replay must not be cut for the
    /// frames that arrived meanwhile), then go live. Frames that arrive while this waits are held in a fresh list
    /// and sent in turn, so the order is kept.
    /// </summary>
    public async Task EndCatchUpAsync(long replayedThrough, CancellationToken cancellationToken)
    {
        Volatile.Write(ref _replayedThrough, replayedThrough);
        while (true)
        {
            List<(byte[] Frame, long Sequence)> held;
            lock (_holdGate)
            {
                held = _held ?? [];
                if (held.Count == 0)
                {
                    _held = null;
                    _catchingUp = false;
                    return;
                }

                _held = [];
            }

            foreach (var (frame, sequence) in held)
            {
                if (sequence > replayedThrough)
                {
                    await EnqueueAsync(frame, cancellationToken).ConfigureAwait(false);
                }
            }
        }
    }
}
