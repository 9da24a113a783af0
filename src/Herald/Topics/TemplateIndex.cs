namespace Herald.Topics;

/// <summary>
/// The templates subscribers hold, indexed by the literal text a matching topic must start or end with, so a
/// publish runs only the templates that can match it instead of every template of every subscriber.
/// </summary>
/// <remarks>
/// Each template is filed under its longer literal end (the text before its first expression, or after its
/// last), cut to <see cref="MaxAnchor"/> characters. A publish looks up the topic's own first and last
/// characters for each anchor length in use: at most 2 × 64 hash lookups of at most 64 characters, whatever
/// the number of templates. Only templates with no literal at either end (<c>{+a}x{+b}</c>) are tried on
/// every publish; each costs one automaton run, linear in the topic.
/// Not thread-safe: the dispatcher calls it under its lock.
/// </remarks>
internal sealed class TemplateIndex<TValue>
    where TValue : class
{
    /// <summary>Longest anchor, so a lookup hashes at most this many characters.</summary>
    public const int MaxAnchor = 64;

    private readonly Dictionary<UriTemplate, Entry> _entries = [];
    private readonly Anchors _prefixes = new();
    private readonly Anchors _suffixes = new();
    private readonly HashSet<Entry> _unanchored = [];

    public int Count => _entries.Count;

    public IEnumerable<TValue> Values => _entries.Values.Select(e => e.Value);

    /// <summary>How many templates have no literal end and are tried on every publish.</summary>
    public int UnanchoredCount => _unanchored.Count;

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
        var entry = new Entry(template, value);
        _entries.Add(template, entry);
        var (prefix, suffix) = (template.Prefix, template.Suffix);
        if (prefix.Length > 0 && prefix.Length >= suffix.Length)
        {
            _prefixes.Add(prefix[..Math.Min(prefix.Length, MaxAnchor)], entry);
        }
        else if (suffix.Length > 0)
        {
            _suffixes.Add(suffix[^Math.Min(suffix.Length, MaxAnchor)..], entry);
        }
        else
        {
            _unanchored.Add(entry);
        }
    }

    public void Remove(UriTemplate template)
    {
        if (!_entries.Remove(template, out var entry))
        {
            return;
        }

        var (prefix, suffix) = (template.Prefix, template.Suffix);
        if (prefix.Length > 0 && prefix.Length >= suffix.Length)
        {
            _prefixes.Remove(prefix[..Math.Min(prefix.Length, MaxAnchor)], entry);
        }
        else if (suffix.Length > 0)
        {
            _suffixes.Remove(suffix[^Math.Min(suffix.Length, MaxAnchor)..], entry);
        }
        else
        {
            _unanchored.Remove(entry);
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

            Try(_unanchored, topic, stamp, matches);
        }
    }

    private static void Try(HashSet<Entry> bucket, string topic, long stamp, List<TValue> matches)
    {
        foreach (var entry in bucket)
        {
            if (entry.Stamp != stamp && entry.Template.Matches(topic))
            {
                entry.Stamp = stamp;
                matches.Add(entry.Value);
            }
        }
    }

    private sealed class Entry(UriTemplate template, TValue value)
    {
        public UriTemplate Template { get; } = template;

        public TValue Value { get; } = value;

        public long Stamp { get; set; }
    }

    /// <summary>Buckets keyed by anchor text, and the anchor lengths in use (at most <see cref="MaxAnchor"/> of them).</summary>
    private sealed class Anchors
    {
        private readonly Dictionary<string, HashSet<Entry>> _buckets = new(StringComparer.Ordinal);
        private readonly int[] _perLength = new int[MaxAnchor + 1];
        private int[] _lengths = [];

        public int[] Lengths => _lengths;

        public HashSet<Entry>? Find(ReadOnlySpan<char> anchor)
            => _buckets.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(anchor, out var bucket) ? bucket : null;

        public void Add(string anchor, Entry entry)
        {
            if (!_buckets.TryGetValue(anchor, out var bucket))
            {
                _buckets[anchor] = bucket = [];
                if (_perLength[anchor.Length]++ == 0)
                {
                    _lengths = [.. _lengths, anchor.Length];
                }
            }

            bucket.Add(entry);
        }

        public void Remove(string anchor, Entry entry)
        {
            if (_buckets.TryGetValue(anchor, out var bucket) && bucket.Remove(entry) && bucket.Count == 0)
            {
                _buckets.Remove(anchor);
                if (--_perLength[anchor.Length] == 0)
                {
                    _lengths = [.. _lengths.Where(l => l != anchor.Length)];
                }
            }
        }
    }
}
