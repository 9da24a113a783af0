namespace Herald.Topics.UrlPatterns;

/// <summary>
/// The compiled URL patterns subscribers hold, shared by (pattern, base URL): a thousand subscribers of one pattern hold
/// one compiled pattern, which the dispatcher runs once per update, and it is dropped when the last of them leaves.
/// </summary>
/// <remarks>
/// Compiling happens outside this registry's lock; publishing never takes it. Patterns a subscription brings to the
/// dispatcher's index are counted against <see cref="HeraldOptions.MaxMatchersPerAnchor"/> here, under this lock: per
/// index bucket (<see cref="UrlPatternIndex{TValue}.BucketOf"/>), and per hub URL, since a relative topic is probed once
/// per hub URL that patterns are held for (a client picks its hub URL with the Host header). A pattern no subscriber
/// holds yet is refused when its bucket, or the hub URLs, are full; one already held is shared and never refused.
/// </remarks>
internal sealed class UrlPatternRegistry(int maxPerBucket = HeraldOptions.DefaultMaxMatchersPerAnchor)
{
    private readonly object _gate = new();
    private readonly Dictionary<(string Text, string Base), Entry> _live = [];
    private readonly AnchorBudget _budget = new(maxPerBucket);
    private readonly Dictionary<string, int> _bases = new(StringComparer.Ordinal);

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

    /// <summary>The compiled pattern, shared with every holder of the same text and base; null when it does not compile. Pair with <see cref="Release(UrlPattern)"/>.</summary>
    public UrlPattern? Acquire(string text, string baseUrl) => Acquire(text, baseUrl, counted: false, out _);

    /// <summary>
    /// As <see cref="Acquire(string, string)"/>; when <paramref name="counted"/> (the pattern goes into the dispatcher's
    /// index), <paramref name="refused"/> tells that its bucket or the hub URLs are full and nothing was acquired. Pair
    /// with <see cref="Release(UrlPattern, bool)"/> with the same <paramref name="counted"/>.
    /// </summary>
    public UrlPattern? Acquire(string text, string baseUrl, bool counted, out bool refused)
    {
        refused = false;
        lock (_gate)
        {
            if (_live.TryGetValue((text, baseUrl), out var entry))
            {
                return Take(entry, counted, out refused);
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

            return Take(entry, counted, out refused);
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
                _budget.Release(UrlPatternIndex<object>.BucketOf(pattern));
                if (--_bases[pattern.BaseUrl] == 0)
                {
                    _bases.Remove(pattern.BaseUrl);
                }
            }

            if (--entry.Users == 0)
            {
                _live.Remove(key);
            }
        }
    }

    /// <summary>One more holder of <paramref name="entry"/> (registered if new), unless it would overfill a cap. Under the lock.</summary>
    private UrlPattern? Take(Entry entry, bool counted, out bool refused)
    {
        refused = false;
        var pattern = entry.Pattern;
        if (counted && entry.Counted == 0)
        {
            _bases.TryGetValue(pattern.BaseUrl, out var onBase);
            if ((onBase == 0 && _bases.Count >= _budget.Limit) || !_budget.TryReserve(UrlPatternIndex<object>.BucketOf(pattern)))
            {
                refused = true;
                return null;
            }

            _bases[pattern.BaseUrl] = onBase + 1;
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
    }
}
