namespace Herald.Topics.UrlPatterns;

/// <summary>
/// The URL patterns subscribers hold, indexed by fixed text every matching URL has, so a publish runs only the patterns
/// that can match its topics instead of every pattern of every subscriber.
/// </summary>
/// <remarks>
/// A pattern is filed under its fixed hostname (or under "any host" when it has none) and the text its pathname starts
/// with (<see cref="UrlPattern.PathnamePrefix"/>), cut to <see cref="MaxAnchor"/> characters; a pattern with neither
/// sits in the "any host", empty-prefix bucket, tried on every publish. Both are what <see cref="UrlPattern.Matches(UrlComponents)"/>
/// compares first, on the same canonical components (<see cref="UrlComponents"/>), so a pattern is ruled out only where
/// it would not have matched. A topic is parsed once per update (<see cref="TopicUrls"/>) and probes its host's buckets
/// and the "any host" ones, one lookup per pathname length in use: at most 2 × 65 lookups, whatever the number of patterns.
/// A relative topic (<see cref="TopicUrls.IsBaseIndependent"/> false) resolves differently against each hub URL, so it is
/// parsed and probed once per hub URL patterns are held for, each pattern run only on the topic as its own hub URL resolves it.
/// The hub-wide caps (<see cref="BucketOf"/>, <see cref="UrlPatternRegistry"/>) bound every bucket and the hub URLs; absolute
/// patterns held for no hub URL (<see cref="UrlPattern.WithoutBase"/>) count as one more, the empty one, against which a
/// relative topic is parsed alone.
/// Not thread-safe: the dispatcher calls it under its lock.
/// </remarks>
internal sealed class UrlPatternIndex<TValue>
    where TValue : class
{
    /// <summary>Longest pathname anchor, so a lookup hashes at most this many characters.</summary>
    public const int MaxAnchor = 64;

    private readonly Dictionary<UrlPattern, IndexEntry<UrlPattern, TValue>> _entries = [];
    private readonly Dictionary<string, AnchorBuckets<IndexEntry<UrlPattern, TValue>>> _hosts = new(StringComparer.Ordinal);
    private readonly AnchorBuckets<IndexEntry<UrlPattern, TValue>> _anyHost = new(MaxAnchor);
    private readonly List<(string Url, UrlRecord? Record, int Patterns)> _bases = [];

    public int Count => _entries.Count;

    public IEnumerable<TValue> Values => _entries.Values.Select(e => e.Value);

    /// <summary>The fixed hostname (null: any) and the pathname anchor <paramref name="pattern"/> is filed under.</summary>
    public static (string? Host, string Path) AnchorOf(UrlPattern pattern)
    {
        var path = pattern.PathnamePrefix;
        return (pattern.FixedHostname, path[..Math.Min(path.Length, MaxAnchor)]);
    }

    /// <summary>
    /// The bucket <paramref name="pattern"/> is counted in against the hub-wide cap (<see cref="Topics.AnchorBudget"/>):
    /// its fixed hostname and pathname anchor; every pattern with no fixed hostname is one bucket, hub-wide, since a topic
    /// of any host probes each of their lengths (a relative pattern has the hub URL's hostname).
    /// </summary>
    public static string BucketOf(UrlPattern pattern)
    {
        var (host, path) = AnchorOf(pattern);

        // A hostname holds no newline (the host parser forbids it), so the two parts cannot run into each other.
        return host is null ? "a" : "h" + host + "\n" + path;
    }

    /// <summary>
    /// Whether <paramref name="bucket"/> (from <see cref="BucketOf"/>) is the host-less family, probed once per topic
    /// (per hub URL for a relative one), which holds <see cref="Topics.AnchorBudget.SharedFactor"/> times an anchor's places.
    /// </summary>
    public static bool IsShared(string bucket) => bucket == "a";

    public bool TryGetValue(UrlPattern pattern, out TValue value)
    {
        value = _entries.TryGetValue(pattern, out var entry) ? entry.Value : null!;
        return entry is not null;
    }

    public void Add(UrlPattern pattern, TValue value)
    {
        var entry = new IndexEntry<UrlPattern, TValue>(pattern, value);
        _entries.Add(pattern, entry);
        var (host, path) = AnchorOf(pattern);
        if (host is null)
        {
            _anyHost.Add(path, entry);
        }
        else
        {
            if (!_hosts.TryGetValue(host, out var buckets))
            {
                _hosts[host] = buckets = new AnchorBuckets<IndexEntry<UrlPattern, TValue>>(MaxAnchor);
            }

            buckets.Add(path, entry);
        }

        var b = _bases.FindIndex(x => string.Equals(x.Url, pattern.BaseUrl, StringComparison.Ordinal));
        if (b < 0)
        {
            _bases.Add((pattern.BaseUrl, pattern.BaseRecord, 1));
        }
        else
        {
            _bases[b] = _bases[b] with { Patterns = _bases[b].Patterns + 1 };
        }
    }

    public void Remove(UrlPattern pattern)
    {
        if (!_entries.Remove(pattern, out var entry))
        {
            return;
        }

        var (host, path) = AnchorOf(pattern);
        if (host is null)
        {
            _anyHost.Remove(path, entry);
        }
        else if (_hosts.TryGetValue(host, out var buckets))
        {
            buckets.Remove(path, entry);
            if (buckets.IsEmpty)
            {
                _hosts.Remove(host);
            }
        }

        var b = _bases.FindIndex(x => string.Equals(x.Url, pattern.BaseUrl, StringComparison.Ordinal));
        if (b >= 0 && _bases[b].Patterns == 1)
        {
            _bases.RemoveAt(b);
        }
        else if (b >= 0)
        {
            _bases[b] = _bases[b] with { Patterns = _bases[b].Patterns - 1 };
        }
    }

    /// <summary>
    /// Adds to <paramref name="matches"/>, once each, the values of the patterns that match one of the topics
    /// (<paramref name="urls"/>, reset for this update). <paramref name="stamp"/> must differ from every earlier call's.
    /// </summary>
    public void CollectMatches(TopicUrls urls, long stamp, List<TValue> matches)
    {
        if (_entries.Count == 0)
        {
            return;
        }

        for (var t = 0; t < urls.Count; t++)
        {
            if (TopicUrls.IsBaseIndependent(urls[t]))
            {
                // Parsed against no base: the same URL every hub URL would make of it, so it serves every pattern.
                if (urls.Get(t, string.Empty, null) is { } url)
                {
                    Probe(url, null, stamp, matches);
                }

                continue;
            }

            foreach (var (baseUrl, record, _) in _bases)
            {
                if (urls.Get(t, baseUrl, record) is { } url)
                {
                    Probe(url, baseUrl, stamp, matches);
                }
            }
        }
    }

    /// <summary>Runs the patterns filed where <paramref name="url"/> leads (only those of <paramref name="baseUrl"/> when given).</summary>
    private void Probe(UrlComponents url, string? baseUrl, long stamp, List<TValue> matches)
    {
        if (_hosts.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(url.Hostname, out var buckets))
        {
            Probe(buckets, url, baseUrl, stamp, matches);
        }

        Probe(_anyHost, url, baseUrl, stamp, matches);
    }

    private static void Probe(AnchorBuckets<IndexEntry<UrlPattern, TValue>> buckets, UrlComponents url, string? baseUrl, long stamp, List<TValue> matches)
    {
        var path = url.Pathname.AsSpan();
        foreach (var length in buckets.Lengths)
        {
            if (length > path.Length || buckets.Find(path[..length]) is not { } bucket)
            {
                continue;
            }

            foreach (var entry in bucket)
            {
                if (entry.Stamp != stamp
                    && (baseUrl is null || string.Equals(entry.Matcher.BaseUrl, baseUrl, StringComparison.Ordinal))
                    && entry.Matcher.Matches(url))
                {
                    entry.Stamp = stamp;
                    matches.Add(entry.Value);
                }
            }
        }
    }
}
