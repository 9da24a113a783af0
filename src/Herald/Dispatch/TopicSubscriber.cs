using System.IO.Pipelines;

namespace Herald.Dispatch;

/// <summary>A subscriber that receives the updates whose topics match its selectors.</summary>
internal sealed class TopicSubscriber : Subscriber
{
    public TopicSubscriber(
        PipeWriter output,
        IReadOnlyList<string> selectors,
        IReadOnlyList<string>? privateSelectors,
        int capacity,
        long maxQueuedBytes = long.MaxValue,
        Action? abort = null)
        : base(output, capacity, maxQueuedBytes, abort)
    {
        Selectors = selectors;
        PrivateSelectors = privateSelectors ?? [];
    }

    /// <summary>The topic selectors this subscriber asked for.</summary>
    public IReadOnlyList<string> Selectors { get; }

    /// <summary>Selectors (from the <c>mercure.subscribe</c> claim) of the private updates it may see.</summary>
    public IReadOnlyList<string> PrivateSelectors { get; }
}
