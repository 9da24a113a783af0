using Herald.Topics;
using Herald.Topics.UrlPatterns;

namespace Herald.Dispatch;

/// <summary>
/// Finds the subscribers an update concerns and hands each the one encoded frame.
/// </summary>
/// <remarks>
/// Exact selectors live in a dictionary keyed by topic, so a publish touches only the subscribers it
/// concerns; <c>*</c> subscribers are one set; URI templates arrive compiled (when the subscription opened,
/// outside this lock), shared when they match the same topics, and filed in a <see cref="TemplateIndex{TValue}"/>
/// under their literal start or end, or an inner literal, so a publish runs only the templates whose literal the
/// topic holds, each in time linear in the topic (see <see cref="UriTemplate"/>). Measured with 1,000 subscribers ×
/// 100 distinct adversarial templates (bench/Herald.Benchmarks, TemplateDispatchBenchmarks): 70–80 ns a publish matching
/// none with literal ends, 91 ns with only inner literals (was 14.6 ms), against 22 ns for exact selectors.
/// A template whose literals the topic holds runs on every publish (about 0.6–1.1 µs each on a 28-character topic, up to
/// about 10 µs with 16 expressions on a 64-character one).
/// URL patterns (Mercure 1.0) arrive compiled and shared by (pattern, hub URL) (<see cref="UrlPatternRegistry"/>) and are
/// filed in a <see cref="UrlPatternIndex{TValue}"/> under their fixed hostname and the text their pathname starts with:
/// a publish parses its topics as URLs once (<see cref="TopicUrls"/>) and runs only the patterns filed under its host
/// and pathname (or under "any host"), each pattern once, its subscribers reached as one set.
/// What any bucket of either index holds is capped hub-wide (<see cref="HeraldOptions.MaxMatchersPerAnchor"/>, reserved
/// when a subscription opens, outside this lock), so however many connections hold matchers, a publish runs a bounded
/// number. Measured (bench/Herald.Benchmarks, short job, on a machine loaded by other builds, so figures vary ±50%):
/// every bucket a 64-character topic probes filled at the default cap of 8 (MatcherCapBenchmarks, PublishHotTopic: 521
/// templates of up to four expressions plus eight of sixteen, 368 URL patterns, each run to the end): 0.64 ms a publish
/// for the templates, 0.21 ms for the URL patterns, 0.98 ms for both; 0.42 ms for both at a cap of 4 (with no cap on
/// templates of many expressions, 6.7 ms at 8). With each of 10,000 subscribers holding its own <c>…/users/N/*</c>
/// pattern and <c>…/users/N/{+rest}</c> template (PerUserMatcherBenchmarks): 6.0 µs a publish to one user, 2.0 µs to
/// none, against 1.9 and 1.1 µs with 100 users (before the URL pattern index, 1,000 distinct patterns cost 120–170 µs).
/// Dispatch is serialized by one lock,
/// which gives every subscriber the same order of updates; inside it nothing but enqueueing happens (no
/// socket writes, no allocation per subscriber), so the lock is held for microseconds, and the caps above bound the
/// matching an attacker can add to it.
/// </remarks>
internal sealed class Dispatcher
{
    private readonly object _gate = new();
    private readonly Dictionary<string, HashSet<TopicSubscriber>> _exact = new(StringComparer.Ordinal);
    private readonly HashSet<TopicSubscriber> _all = [];
    private readonly TemplateIndex<HashSet<TopicSubscriber>> _templates = new();
    private readonly List<HashSet<TopicSubscriber>> _matched = [];
    private readonly UrlPatternIndex<HashSet<TopicSubscriber>> _patterns = new();
    private readonly TopicUrls _topicUrls = new();
    private readonly TopicMatcher _matcher;
    private long _stamp;
    private int _count;
    private readonly WriterPool _writers;
    private readonly Subscriber[][] _woken;
    private readonly int[] _wokenCount;

    /// <summary>
    /// A dispatcher for subscribers whose writers run on <paramref name="writers"/> (the hub's pool, which the hub
    /// stops): a dispatch hands the writers it woke to their loops, one lock per loop.
    /// </summary>
    public Dispatcher(TopicMatcher matcher, WriterPool writers)
    {
        _matcher = matcher;
        _writers = writers;
        _woken = new Subscriber[writers.Count][];
        for (var i = 0; i < _woken.Length; i++)
        {
            _woken[i] = new Subscriber[64];
        }

        _wokenCount = new int[writers.Count];
    }

    /// <summary>How many subscribers are registered.</summary>
    public int Count => Volatile.Read(ref _count);

    public TopicMatcher Matcher => _matcher;

    public void Add(TopicSubscriber subscriber)
    {
        var selection = subscriber.Selection;
        lock (_gate)
        {
            if (selection.MatchesAll)
            {
                _all.Add(subscriber);
            }

            foreach (var selector in selection.Exact)
            {
                if (!_exact.TryGetValue(selector, out var set))
                {
                    _exact[selector] = set = [];
                }

                set.Add(subscriber);
            }

            foreach (var template in selection.Templates)
            {
                if (!_templates.TryGetValue(template, out var set))
                {
                    set = [];
                    _templates.Add(template, set);
                }

                set.Add(subscriber);
            }

            foreach (var pattern in selection.Patterns)
            {
                if (!_patterns.TryGetValue(pattern, out var set))
                {
                    set = [];
                    _patterns.Add(pattern, set);
                }

                set.Add(subscriber);
            }

            _count++;
        }
    }

    /// <summary>Unregisters the subscriber and gives its compiled templates back (both once, however often called).</summary>
    public void Remove(TopicSubscriber subscriber)
    {
        var selection = subscriber.Selection;
        lock (_gate)
        {
            var removed = selection.MatchesAll && _all.Remove(subscriber);
            foreach (var selector in selection.Exact)
            {
                if (_exact.TryGetValue(selector, out var set) && set.Remove(subscriber))
                {
                    removed = true;
                    if (set.Count == 0)
                    {
                        _exact.Remove(selector);
                    }
                }
            }

            foreach (var template in selection.Templates)
            {
                if (_templates.TryGetValue(template, out var set) && set.Remove(subscriber))
                {
                    removed = true;
                    if (set.Count == 0)
                    {
                        _templates.Remove(template);
                    }
                }
            }

            foreach (var pattern in selection.Patterns)
            {
                if (_patterns.TryGetValue(pattern, out var set) && set.Remove(subscriber))
                {
                    removed = true;
                    if (set.Count == 0)
                    {
                        _patterns.Remove(pattern);
                    }
                }
            }

            if (removed)
            {
                _count--;
            }
        }

        selection.Release();
        subscriber.PrivateSelection.Release();
    }

    /// <summary>How many distinct templates the index holds (each matched once per publish).</summary>
    public int TemplateCount
    {
        get
        {
            lock (_gate)
            {
                return _templates.Count;
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
    /// <param name="sequence">The update's position in history, so subscribers replaying it can skip it live.</param>
    public int Dispatch(IReadOnlyList<string> topics, bool isPrivate, byte[] frame, long sequence = 0)
    {
        var delivered = 0;
        lock (_gate)
        {
            var stamp = ++_stamp;
            _topicUrls.Reset(topics);
            for (var t = 0; t < topics.Count; t++)
            {
                if (_exact.TryGetValue(topics[t], out var set))
                {
                    delivered += Deliver(set, stamp, topics, isPrivate, frame, sequence);
                }
            }

            if (_all.Count > 0)
            {
                delivered += Deliver(_all, stamp, topics, isPrivate, frame, sequence);
            }

            if (_templates.Count > 0)
            {
                _templates.CollectMatches(topics, stamp, _matched);
                DeliverMatched(stamp, topics, isPrivate, frame, sequence, ref delivered);
            }

            if (_patterns.Count > 0)
            {
                _patterns.CollectMatches(_topicUrls, stamp, _matched);
                DeliverMatched(stamp, topics, isPrivate, frame, sequence, ref delivered);
            }

            ScheduleWoken();
        }

        return delivered;
    }

    /// <summary>Every registered subscriber, copied, so callers act on them outside the lock (shutdown, sweeps).</summary>
    public List<TopicSubscriber> Snapshot()
    {
        lock (_gate)
        {
            var all = new HashSet<TopicSubscriber>(_count);
            foreach (var set in _exact.Values)
            {
                all.UnionWith(set);
            }

            foreach (var set in _templates.Values)
            {
                all.UnionWith(set);
            }

            foreach (var set in _patterns.Values)
            {
                all.UnionWith(set);
            }

            all.UnionWith(_all);

            return [.. all];
        }
    }

    /// <summary>Whether an update concerns a subscriber: one of its selectors matches one topic, and a private update is allowed by its claim.</summary>
    public bool Concerns(TopicSubscriber subscriber, IReadOnlyList<string> topics, bool isPrivate)
        => subscriber.Selection.MatchesAny(topics) && (!isPrivate || subscriber.PrivateSelection.MatchesAny(topics));

    /// <summary>Delivers to the sets the index just collected in <see cref="_matched"/>, and empties it.</summary>
    private void DeliverMatched(long stamp, IReadOnlyList<string> topics, bool isPrivate, byte[] frame, long sequence, ref int delivered)
    {
        try
        {
            foreach (var set in _matched)
            {
                delivered += Deliver(set, stamp, topics, isPrivate, frame, sequence);
            }
        }
        finally
        {
            // Never left for the next publish: it would reach this one's subscribers.
            _matched.Clear();
        }
    }

    private int Deliver(HashSet<TopicSubscriber> set, long stamp, IReadOnlyList<string> topics, bool isPrivate, byte[] frame, long sequence)
    {
        var delivered = 0;
        foreach (var subscriber in set)
        {
            if (subscriber.DispatchStamp == stamp)
            {
                continue;
            }

            subscriber.DispatchStamp = stamp;
            if (isPrivate && !subscriber.PrivateSelection.MatchesAnyInDispatch(topics, stamp, _topicUrls))
            {
                continue;
            }

            if (subscriber.Offer(frame, sequence, out var startWriter))
            {
                delivered++;
                if (startWriter)
                {
                    var loop = subscriber.Loop.Index;
                    ref var count = ref _wokenCount[loop];
                    var list = _woken[loop];
                    if (count == list.Length)
                    {
                        Array.Resize(ref _woken[loop], count * 2);
                        list = _woken[loop];
                    }

                    list[count++] = subscriber;
                }
            }
        }

        return delivered;
    }

    /// <summary>Hands the writers this dispatch woke to their loops, one lock per loop.</summary>
    private void ScheduleWoken()
    {
        for (var loop = 0; loop < _wokenCount.Length; loop++)
        {
            var count = _wokenCount[loop];
            if (count > 0)
            {
                var list = _woken[loop];
                _writers[loop].Schedule(list, count);
                Array.Clear(list, 0, count);
                _wokenCount[loop] = 0;
            }
        }
    }
}
