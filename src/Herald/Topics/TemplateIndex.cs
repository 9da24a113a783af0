namespace Herald.Topics;

/// <summary>
/// The templates subscribers hold, indexed by literal text every matching topic holds, so a publish runs only the
/// templates that can match it instead of every template of every subscriber.
/// </summary>
/// <remarks>
/// A template is filed under its longer literal end (the text before its first expression, or after its last),
/// cut to <see cref="MaxAnchor"/> characters; a publish looks up the topic's own first and last characters for each
/// anchor length in use: at most 2 × 64 hash lookups of at most 64 characters, whatever the number of templates.
/// A template whose literal ends are shorter than <see cref="MinInner"/> (<c>{+a}x0.1{+b}</c>) is filed instead under
/// the first three characters of its longest literal between expressions (<see cref="UriTemplate.Inner"/>), which every
/// matching topic contains somewhere: a publish looks up each three characters of the topic (one probe of a small
/// count table each, a hash lookup only where some template's literal starts with them), checks the whole literal
/// there, and runs the template only then. Measured (TemplateDispatchBenchmarks, 1,000 subscribers × 99 such
/// templates with distinct literals): a publish went from 14.6 ms to about the cost of exact selectors.
/// Only templates with no literal of three characters anywhere and none at either end (<c>{+a}/{+b}</c>) are tried
/// on every publish; each costs one automaton run, linear in the topic.
/// What one bucket holds is capped hub-wide (<see cref="BucketOf"/>, counted by the <see cref="TemplateRegistry"/>), so a
/// topic's lookups reach a bounded number of templates however many subscribers there are.
/// Not thread-safe: the dispatcher calls it under its lock.
/// </remarks>
internal sealed class TemplateIndex<TValue>
    where TValue : class
{
    /// <summary>Longest anchor, so a lookup hashes at most this many characters.</summary>
    public const int MaxAnchor = 64;

    /// <summary>Most expressions a template may hold and still be counted under its own anchor (see <see cref="BucketOf"/>).</summary>
    public const int MaxExpressionsPerAnchor = 4;

    /// <summary>Shortest inner literal a template is filed under (three characters, looked up by their packed 48 bits).</summary>
    public const int MinInner = 3;

    private readonly Dictionary<UriTemplate, IndexEntry<UriTemplate, TValue>> _entries = [];
    private readonly AnchorBuckets<IndexEntry<UriTemplate, TValue>> _prefixes = new(MaxAnchor);
    private readonly AnchorBuckets<IndexEntry<UriTemplate, TValue>> _suffixes = new(MaxAnchor);
    private readonly Trigrams _inner = new();
    private readonly HashSet<IndexEntry<UriTemplate, TValue>> _unanchored = [];
    private long _probe;

    /// <summary>Where a template is filed.</summary>
    public enum Filing
    {
        Prefix,
        Suffix,
        Inner,

        /// <summary>Tried on every publish: no literal end, no inner literal of <see cref="MinInner"/> characters.</summary>
        Always,
    }

    public int Count => _entries.Count;

    public IEnumerable<TValue> Values => _entries.Values.Select(e => e.Value);

    /// <summary>How many templates have no literal to be filed under and are tried on every publish.</summary>
    public int UnanchoredCount => _unanchored.Count;

    /// <summary>
    /// Where <paramref name="template"/> goes: under its longer literal end, unless that is shorter than
    /// <see cref="MinInner"/> and an inner literal is not (<c>h{+a}x0.1{+b}</c>: "h" starts every https topic,
    /// "x0.1" few); under its inner literal when it has no literal end; else tried always.
    /// </summary>
    public static Filing FilingOf(UriTemplate template)
    {
        var (prefix, suffix, inner) = (template.Prefix.Length, template.Suffix.Length, template.Inner.Length);
        var anchor = Math.Max(prefix, suffix);
        if (inner >= MinInner && anchor < MinInner)
        {
            return Filing.Inner;
        }

        return anchor == 0 ? Filing.Always : prefix >= suffix ? Filing.Prefix : Filing.Suffix;
    }

    /// <summary>
    /// The bucket <paramref name="template"/> is counted in against the hub-wide cap (<see cref="AnchorBudget"/>): its
    /// literal start as filed. The other filings are one bucket each, hub-wide: a long topic's windows can reach every
    /// inner literal, every publish runs the unanchored templates, and a suffix filing (rare: a literal end longer than the
    /// literal start) is one more family a topic probes at every length; a per-user template is filed by its start.
    /// </summary>
    public static string BucketOf(UriTemplate template)
    {
        // A run costs the topic's length times the automaton's live states, which grow with the expressions: 16 cost about
        // 10 µs on a 64-character topic (MatcherCapBenchmarks), so templates with more than a few (real ones hold one to
        // three) share one bucket hub-wide, wherever they are filed.
        if (template.Template.AsSpan().Count('{') > MaxExpressionsPerAnchor)
        {
            return "x";
        }

        var prefix = template.Prefix;
        return FilingOf(template) switch
        {
            Filing.Prefix => "p" + prefix[..Math.Min(prefix.Length, MaxAnchor)],
            Filing.Suffix => "s",
            Filing.Inner => "i",
            _ => "*",
        };
    }

    /// <summary>
    /// Whether <paramref name="bucket"/> (from <see cref="BucketOf"/>) is a family probed once per topic, which holds
    /// <see cref="AnchorBudget.SharedFactor"/> times an anchor's places; the many-expression family is not: each of its runs
    /// costs about ten anchored ones, so it keeps an anchor's places.
    /// </summary>
    public static bool IsShared(string bucket) => bucket is "s" or "i" or "*";

    public bool TryGetValue(UriTemplate template, out TValue value)
    {
        if (_entries.TryGetValue(template, out var entry))
        {
            value = entry.Value;
            return true;
        }

        value = null!;
        return false;
    }

    public void Add(UriTemplate template, TValue value)
    {
        var entry = new IndexEntry<UriTemplate, TValue>(template, value);
        _entries.Add(template, entry);
        var (prefix, suffix) = (template.Prefix, template.Suffix);
        switch (FilingOf(template))
        {
            case Filing.Prefix:
                _prefixes.Add(prefix[..Math.Min(prefix.Length, MaxAnchor)], entry);
                break;
            case Filing.Suffix:
                _suffixes.Add(suffix[^Math.Min(suffix.Length, MaxAnchor)..], entry);
                break;
            case Filing.Inner:
                _inner.Add(entry);
                break;
            default:
                _unanchored.Add(entry);
                break;
        }
    }

    public void Remove(UriTemplate template)
    {
        if (!_entries.Remove(template, out var entry))
        {
            return;
        }

        var (prefix, suffix) = (template.Prefix, template.Suffix);
        switch (FilingOf(template))
        {
            case Filing.Prefix:
                _prefixes.Remove(prefix[..Math.Min(prefix.Length, MaxAnchor)], entry);
                break;
            case Filing.Suffix:
                _suffixes.Remove(suffix[^Math.Min(suffix.Length, MaxAnchor)..], entry);
                break;
            case Filing.Inner:
                _inner.Remove(entry);
                break;
            default:
                _unanchored.Remove(entry);
                break;
        }
    }

    /// <summary>
    /// Adds to <paramref name="matches"/>, once each, the values of the templates that match one of the topics.
    /// <paramref name="stamp"/> must differ from every earlier call's: it marks templates already matched.
    /// </summary>
    public void CollectMatches(IReadOnlyList<string> topics, long stamp, List<TValue> matches)
    {
        for (var t = 0; t < topics.Count; t++)
        {
            var topic = topics[t];
            var span = topic.AsSpan();
            foreach (var length in _prefixes.Lengths)
            {
                if (length <= topic.Length && _prefixes.Find(span[..length]) is { } bucket)
                {
                    Try(bucket, topic, stamp, matches);
                }
            }

            foreach (var length in _suffixes.Lengths)
            {
                if (length <= topic.Length && _suffixes.Find(span[^length..]) is { } bucket)
                {
                    Try(bucket, topic, stamp, matches);
                }
            }

            if (_inner.Count > 0)
            {
                _inner.Collect(topic, stamp, ++_probe, matches);
            }

            Try(_unanchored, topic, stamp, matches);
        }
    }

    private static void Try(HashSet<IndexEntry<UriTemplate, TValue>> bucket, string topic, long stamp, List<TValue> matches)
    {
        foreach (var entry in bucket)
        {
            if (entry.Stamp != stamp && entry.Matcher.Matches(topic))
            {
                entry.Stamp = stamp;
                matches.Add(entry.Value);
            }
        }
    }

    /// <summary>
    /// Templates filed under the first three characters of their <see cref="UriTemplate.Inner"/> literal, packed into
    /// 48 bits. A count per hash slot lets a topic's three-character windows that start no template's literal (nearly
    /// all of them) skip the dictionary.
    /// </summary>
    private sealed class Trigrams
    {
        private const int SlotBits = 14;
        private readonly Dictionary<ulong, HashSet<IndexEntry<UriTemplate, TValue>>> _buckets = [];
        private readonly int[] _perSlot = new int[1 << SlotBits];

        public int Count { get; private set; }

        public void Add(IndexEntry<UriTemplate, TValue> entry)
        {
            var key = Pack(entry.Matcher.Inner);
            if (!_buckets.TryGetValue(key, out var bucket))
            {
                _buckets[key] = bucket = [];
                _perSlot[Slot(key)]++;
            }

            if (bucket.Add(entry))
            {
                Count++;
            }
        }

        public void Remove(IndexEntry<UriTemplate, TValue> entry)
        {
            var key = Pack(entry.Matcher.Inner);
            if (_buckets.TryGetValue(key, out var bucket) && bucket.Remove(entry))
            {
                Count--;
                if (bucket.Count == 0)
                {
                    _buckets.Remove(key);
                    _perSlot[Slot(key)]--;
                }
            }
        }

        /// <summary>Runs the templates whose inner literal occurs in <paramref name="topic"/>: one window per topic character.</summary>
        public void Collect(string topic, long stamp, long probe, List<TValue> matches)
        {
            if (topic.Length < MinInner)
            {
                return;
            }

            var span = topic.AsSpan();
            var key = ((ulong)span[0] << 16) | span[1];
            for (var end = 2; end < span.Length; end++)
            {
                key = ((key << 16) | span[end]) & 0xFFFF_FFFF_FFFF;
                if (_perSlot[Slot(key)] == 0 || !_buckets.TryGetValue(key, out var bucket))
                {
                    continue;
                }

                var at = span[(end - 2)..];
                foreach (var entry in bucket)
                {
                    if (entry.Stamp != stamp && entry.Probe != probe && at.StartsWith(entry.Matcher.Inner, StringComparison.Ordinal))
                    {
                        entry.Probe = probe;
                        if (entry.Matcher.Matches(topic))
                        {
                            entry.Stamp = stamp;
                            matches.Add(entry.Value);
                        }
                    }
                }
            }
        }

        private static ulong Pack(string literal) => ((ulong)literal[0] << 32) | ((ulong)literal[1] << 16) | literal[2];

        private static int Slot(ulong key) => (int)((key * 0x9E37_79B9_7F4A_7C15UL) >> (64 - SlotBits));
    }
}
