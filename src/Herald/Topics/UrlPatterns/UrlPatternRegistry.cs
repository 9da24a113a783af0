namespace Herald.Topics.UrlPatterns;

/// <summary>
/// The compiled URL patterns subscribers hold, shared by (pattern, base URL): a thousand subscribers of one pattern hold
/// one compiled pattern, which the dispatcher runs once per update, and it is dropped when the last of them leaves.
/// </summary>
/// <remarks>Compiling happens outside this registry's lock; publishing never takes it.</remarks>
internal sealed class UrlPatternRegistry
{
    private readonly object _gate = new();
    private readonly Dictionary<(string Text, string Base), Entry> _live = [];

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

    /// <summary>The compiled pattern, shared with every holder of the same text and base; null when it does not compile. Pair with <see cref="Release"/>.</summary>
    public UrlPattern? Acquire(string text, string baseUrl)
    {
        lock (_gate)
        {
            if (_live.TryGetValue((text, baseUrl), out var entry))
            {
                entry.Users++;
                return entry.Pattern;
            }
        }

        if (!UrlPattern.TryParse(text, baseUrl, out var compiled, out _))
        {
            return null;
        }

        lock (_gate)
        {
            if (_live.TryGetValue((text, baseUrl), out var entry))
            {
                entry.Users++;
                return entry.Pattern;
            }

            _live[(text, baseUrl)] = new Entry(compiled);
            return compiled;
        }
    }

    public void Release(UrlPattern pattern)
    {
        lock (_gate)
        {
            var key = (pattern.Text, pattern.BaseUrl);
            if (_live.TryGetValue(key, out var entry) && ReferenceEquals(entry.Pattern, pattern) && --entry.Users == 0)
            {
                _live.Remove(key);
            }
        }
    }

    private sealed class Entry(UrlPattern pattern)
    {
        public UrlPattern Pattern { get; } = pattern;

        public int Users { get; set; } = 1;
    }
}
