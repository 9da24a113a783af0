using Herald.Topics;

namespace Herald.Dispatch;

/// <summary>A subscriber that receives the updates whose topics match its selectors.</summary>
/// <remarks>
/// A subscriber resuming from history is registered before its replay starts, so no live update can slip
/// between the two. While it catches up, live frames are held with their sequence; when the replay reaches
/// sequence N, the held frames above N are queued and the rest dropped: no gap and no duplicate.
/// </remarks>
internal sealed class TopicSubscriber : Subscriber
{
    private readonly object _holdGate = new();
    private List<(byte[] Frame, long Sequence)>? _held;
    private volatile bool _catchingUp;

    public TopicSubscriber(
        SubscriberOutput output,
        TopicSelection selection,
        TopicSelection? privateSelection,
        int capacity,
        long maxQueuedBytes = long.MaxValue,
        Action? abort = null)
        : base(output, capacity, maxQueuedBytes, abort)
    {
        Selection = selection;
        PrivateSelection = privateSelection ?? TopicSelection.None;
    }

    /// <summary>The topic selectors this subscriber asked for.</summary>
    public IReadOnlyList<string> Selectors => Selection.Texts;

    /// <summary>Its selectors, compiled when the subscription opened (never under the publish lock).</summary>
    public TopicSelection Selection { get; }

    /// <summary>Selectors (from the <c>mercure.subscribe</c> claim) of the private updates it may see, compiled.</summary>
    public TopicSelection PrivateSelection { get; }

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
