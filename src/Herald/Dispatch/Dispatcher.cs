using Herald.Topics;

namespace Herald.Dispatch;

/// <summary>
/// Finds the subscribers an update concerns and hands each the one encoded frame.
/// </summary>
/// <remarks>
/// Exact selectors live in a dictionary keyed by topic, so a publish touches only the subscribers it
/// concerns; other selectors (<c>*</c>, URI templates) are grouped by selector text and matched once per
/// distinct selector through the <see cref="TopicMatcher"/> cache. Dispatch is serialized by one lock,
/// which gives every subscriber the same order of updates; inside it nothing but enqueueing happens (no
/// socket writes, no allocation per subscriber), so the lock is held for microseconds.
/// </remarks>
internal sealed class Dispatcher
{
    private readonly object _gate = new();
    private readonly Dictionary<string, HashSet<TopicSubscriber>> _exact = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HashSet<TopicSubscriber>> _patterns = new(StringComparer.Ordinal);
    private readonly TopicMatcher _matcher;
    private long _stamp;
    private int _count;

    public Dispatcher(TopicMatcher matcher) => _matcher = matcher;

    /// <summary>How many subscribers are registered.</summary>
    public int Count => Volatile.Read(ref _count);

    public TopicMatcher Matcher => _matcher;

    public void Add(TopicSubscriber subscriber)
    {
        lock (_gate)
        {
            foreach (var selector in subscriber.Selectors)
            {
                var index = TopicMatcher.IsExact(selector) ? _exact : _patterns;
                if (!index.TryGetValue(selector, out var set))
                {
                    index[selector] = set = [];
                }

                set.Add(subscriber);
            }

            _count++;
        }
    }

    public void Remove(TopicSubscriber subscriber)
    {
        lock (_gate)
        {
            var removed = false;
            foreach (var selector in subscriber.Selectors)
            {
                var index = TopicMatcher.IsExact(selector) ? _exact : _patterns;
                if (index.TryGetValue(selector, out var set) && set.Remove(subscriber))
                {
                    removed = true;
                    if (set.Count == 0)
                    {
                        index.Remove(selector);
                    }
                }
            }

            if (removed)
            {
                _count--;
            }
        }
    }

    /// <summary>Whether a subscriber named <paramref name="topic"/> itself as a selector (so an optional feed can run only while watched).</summary>
    public bool HasExactSubscriber(string topic)
    {
        lock (_gate)
        {
            return _exact.ContainsKey(topic);
        }
    }

    /// <summary>Queues <paramref name="frame"/> on every subscriber the update concerns; returns how many.</summary>
    /// <param name="topics">The update's canonical topic first, then its alternates.</param>
    /// <param name="isPrivate">Whether only subscribers allowed by their private selectors may see it.</param>
    /// <param name="frame">The update, encoded once.</param>
    public int Dispatch(IReadOnlyList<string> topics, bool isPrivate, byte[] frame)
    {
        var delivered = 0;
        lock (_gate)
        {
            var stamp = ++_stamp;
            for (var t = 0; t < topics.Count; t++)
            {
                if (_exact.TryGetValue(topics[t], out var set))
                {
                    delivered += Deliver(set, stamp, topics, isPrivate, frame);
                }
            }

            if (_patterns.Count > 0)
            {
                foreach (var (selector, set) in _patterns)
                {
                    for (var t = 0; t < topics.Count; t++)
                    {
                        if (_matcher.Matches(selector, topics[t]))
                        {
                            delivered += Deliver(set, stamp, topics, isPrivate, frame);
                            break;
                        }
                    }
                }
            }
        }

        return delivered;
    }

    /// <summary>Runs <paramref name="action"/> on every subscriber (heartbeats, shutdown, token checks).</summary>
    public void ForEach<TState>(Action<TopicSubscriber, TState> action, TState state)
    {
        lock (_gate)
        {
            var stamp = ++_stamp;
            foreach (var index in (ReadOnlySpan<Dictionary<string, HashSet<TopicSubscriber>>>)[_exact, _patterns])
            {
                foreach (var set in index.Values)
                {
                    foreach (var subscriber in set)
                    {
                        if (subscriber.DispatchStamp != stamp)
                        {
                            subscriber.DispatchStamp = stamp;
                            action(subscriber, state);
                        }
                    }
                }
            }
        }
    }

    private int Deliver(HashSet<TopicSubscriber> set, long stamp, IReadOnlyList<string> topics, bool isPrivate, byte[] frame)
    {
        var delivered = 0;
        foreach (var subscriber in set)
        {
            if (subscriber.DispatchStamp == stamp)
            {
                continue;
            }

            subscriber.DispatchStamp = stamp;
            if (isPrivate && !_matcher.MatchesAny(subscriber.PrivateSelectors, topics))
            {
                continue;
            }

            if (subscriber.TryEnqueue(frame))
            {
                delivered++;
            }
        }

        return delivered;
    }
}
