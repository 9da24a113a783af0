namespace Herald.Topics;

/// <summary>
/// Index buckets keyed by anchor text (literal text every matching topic holds at a known place), and the anchor lengths
/// in use, so a probe is one hash lookup per length in use (at most <c>maxAnchor + 1</c>) whatever the number of entries.
/// </summary>
/// <remarks>Not thread-safe: the dispatcher uses it under its lock.</remarks>
internal sealed class AnchorBuckets<TEntry>(int maxAnchor)
{
    private readonly Dictionary<string, HashSet<TEntry>> _buckets = new(StringComparer.Ordinal);
    private readonly int[] _perLength = new int[maxAnchor + 1];
    private int[] _lengths = [];

    /// <summary>The anchor lengths some bucket has.</summary>
    public int[] Lengths => _lengths;

    /// <summary>Whether no bucket holds anything.</summary>
    public bool IsEmpty => _buckets.Count == 0;

    public HashSet<TEntry>? Find(ReadOnlySpan<char> anchor)
        => _buckets.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(anchor, out var bucket) ? bucket : null;

    public void Add(string anchor, TEntry entry)
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

    public void Remove(string anchor, TEntry entry)
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
