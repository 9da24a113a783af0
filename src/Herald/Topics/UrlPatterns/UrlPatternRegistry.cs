namespace Herald.Topics.UrlPatterns;

/// <summary>
/// The compiled URL patterns subscribers hold, shared by (pattern, base URL): a thousand subscribers of one pattern hold
/// one compiled pattern, which the dispatcher runs once per update, and it is dropped when the last of them leaves.
/// </summary>
/// <remarks>
/// Compiling happens outside this registry's lock; publishing never takes it. Patterns a subscription brings to the
/// dispatcher's index are counted against <see cref="HeraldOptions.MaxMatchersPerAnchor"/> here, under this lock: per
/// index bucket (<see cref="UrlPatternIndex{TValue}.BucketOf"/>; the host-less one holds <see cref="AnchorBudget.SharedFactor"/>
/// times more), and per hub URL, since a relative topic is probed once per hub URL that patterns are held for (a client
/// picks its hub URL with the Host header). A pattern no subscriber holds yet is refused when its bucket is full, or when
/// the client bringing it already brought <see cref="HeraldOptions.MaxMatchersPerAnchorPerClient"/> of the bucket's
/// places; one already held is shared and never refused, and costs no share. The hub URLs are one bucket with the same
/// per-client share: a relative pattern needs its hub URL and is refused when it brings a new one past the cap or the
/// client's share. An absolute pattern names its own scheme and host and is never refused for its hub URL: it is held for
/// it while the hub URL is held or a place for it is free (so relative topics, such as subscription events, resolve
/// against it as the protocol says), and otherwise held for none (<see cref="UrlPattern.WithoutBase"/>), matching every
/// topic that names its scheme as before.
/// </remarks>
internal sealed class UrlPatternRegistry(int maxPerBucket = HeraldOptions.DefaultMaxMatchersPerAnchor, int maxPerClient = int.MaxValue)
{
    /// <summary>The one bucket the hub URLs are counted in.</summary>
    private const string Bases = "";

    private readonly object _gate = new();
    private readonly Dictionary<(string Text, string Base), Entry> _live = [];
    private readonly AnchorBudget _budget = new(maxPerBucket, AnchorBudget.SharedLimitFor(maxPerBucket), maxPerClient);
    private readonly AnchorBudget _baseBudget = new(maxPerBucket, maxPerBucket, maxPerClient);
    private readonly Dictionary<string, (int Patterns, MatcherClient Owner)> _bases = new(StringComparer.Ordinal);

    /// <summary>How many distinct patterns subscribers hold now.</summary>
    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _live.Count;
            }
        }
    }

    /// <summary>How many hub URLs patterns in the index are held for now.</summary>
    public int BaseCount
    {
        get
        {
            lock (_gate)
            {
                return _bases.Count;
            }
        }
    }

    /// <summary>How many (bucket, client) pairs hold places now, hub URLs included: what the per-client accounting keeps.</summary>
    public int ClientPlaces
    {
        get
        {
            lock (_gate)
            {
                return _budget.ClientCount + _baseBudget.ClientCount;
            }
        }
    }

    /// <summary>The compiled pattern, shared with every holder of the same text and base; null when it does not compile. Pair with <see cref="Release(UrlPattern)"/>.</summary>
    public UrlPattern? Acquire(string text, string baseUrl) => Acquire(text, baseUrl, counted: false, out _);

    /// <summary>As <see cref="Acquire(string, string, bool, MatcherClient, out bool)"/> for a client with no IP address.</summary>
    public UrlPattern? Acquire(string text, string baseUrl, bool counted, out bool refused)
        => Acquire(text, baseUrl, counted, MatcherClient.Unknown, out refused);

    /// <summary>
    /// As <see cref="Acquire(string, string)"/>; when <paramref name="counted"/> (the pattern goes into the dispatcher's
    /// index), <paramref name="refused"/> tells that its bucket or the hub URLs are full, or <paramref name="client"/>'s
    /// share of them, and nothing was acquired; new places are charged to <paramref name="client"/>. Pair with
    /// <see cref="Release(UrlPattern, bool)"/> with the same <paramref name="counted"/>.
    /// </summary>
    public UrlPattern? Acquire(string text, string baseUrl, bool counted, MatcherClient client, out bool refused)
    {
        refused = false;
        lock (_gate)
        {
            if (_live.TryGetValue((text, baseUrl), out var entry))
            {
                return Take(entry, counted, client, out refused);
            }
        }

        if (!UrlPattern.TryParse(text, baseUrl, out var compiled, out _))
        {
            return null;
        }

        lock (_gate)
        {
            if (!_live.TryGetValue((text, baseUrl), out var entry))
            {
                entry = new Entry(compiled);
            }

            return Take(entry, counted, client, out refused);
        }
    }

    public void Release(UrlPattern pattern) => Release(pattern, counted: false);

    public void Release(UrlPattern pattern, bool counted)
    {
        lock (_gate)
        {
            var key = (pattern.Text, pattern.BaseUrl);
            if (!_live.TryGetValue(key, out var entry) || !ReferenceEquals(entry.Pattern, pattern))
            {
                return;
            }

            if (counted && entry.Counted > 0 && --entry.Counted == 0)
            {
                _budget.Release(UrlPatternIndex<object>.BucketOf(pattern), entry.Owner);
                if (pattern.BaseUrl.Length > 0)
                {
                    var (patterns, owner) = _bases[pattern.BaseUrl];
                    if (patterns > 1)
                    {
                        _bases[pattern.BaseUrl] = (patterns - 1, owner);
                    }
                    else
                    {
                        _bases.Remove(pattern.BaseUrl);
                        _baseBudget.Release(Bases, owner);
                    }
                }
            }

            if (--entry.Users == 0)
            {
                _live.Remove(key);
            }
        }
    }

    /// <summary>One more holder of <paramref name="entry"/> (registered if new), unless it would overfill a cap. Under the lock.</summary>
    private UrlPattern? Take(Entry entry, bool counted, MatcherClient client, out bool refused)
    {
        refused = false;
        var pattern = entry.Pattern;
        if (counted && entry.Counted == 0)
        {
            var newBase = pattern.BaseUrl.Length > 0 && !_bases.ContainsKey(pattern.BaseUrl);
            if (newBase && !pattern.IsRelative && !_baseBudget.CanReserve(Bases, shared: false, client))
            {
                // No place for its hub URL: held for none instead, shared with everyone else held so.
                var key = (pattern.Text, string.Empty);
                return Take(_live.TryGetValue(key, out var baseless) ? baseless : new Entry(pattern.WithoutBase()), counted, client, out refused);
            }

            var bucket = UrlPatternIndex<object>.BucketOf(pattern);
            var shared = UrlPatternIndex<object>.IsShared(bucket);
            if ((newBase && !_baseBudget.CanReserve(Bases, shared: false, client)) || !_budget.TryReserve(bucket, shared, client))
            {
                refused = true;
                return null;
            }

            entry.Owner = client;
            if (newBase)
            {
                _baseBudget.TryReserve(Bases, shared: false, client);
                _bases[pattern.BaseUrl] = (1, client);
            }
            else if (pattern.BaseUrl.Length > 0)
            {
                _bases[pattern.BaseUrl] = _bases[pattern.BaseUrl] with { Patterns = _bases[pattern.BaseUrl].Patterns + 1 };
            }
        }

        _live[(pattern.Text, pattern.BaseUrl)] = entry;
        entry.Users++;
        entry.Counted += counted ? 1 : 0;
        return pattern;
    }

    private sealed class Entry(UrlPattern pattern)
    {
        public UrlPattern Pattern { get; } = pattern;

        public int Users { get; set; }

        /// <summary>How many of <see cref="Users"/> file it in the dispatcher's index (token claims do not).</summary>
        public int Counted { get; set; }

        /// <summary>The client its place is charged to, while <see cref="Counted"/>: the one that brought it to the index.</summary>
        public MatcherClient Owner { get; set; }
    }
}
