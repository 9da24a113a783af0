namespace Herald.Topics.UrlPatterns;

/// <summary>
/// An update's topics parsed as URLs, each once per dispatch and base URL (the hub URL, rarely more than one), however
/// many URL patterns and subscribers look at them. Owned by the dispatcher and used under its lock only.
/// </summary>
internal sealed class TopicUrls
{
    private readonly List<(string Base, UrlComponents?[] Parsed, bool[] Done)> _bases = [];
    private IReadOnlyList<string> _topics = [];

    /// <summary>Forgets the previous update's topics; parsing happens on demand.</summary>
    public void Reset(IReadOnlyList<string> topics)
    {
        _topics = topics;
        foreach (var (_, parsed, done) in _bases)
        {
            Array.Clear(parsed);
            Array.Clear(done);
        }
    }

    /// <summary>Whether <paramref name="pattern"/> matches one of the topics.</summary>
    public bool AnyMatches(UrlPattern pattern)
    {
        var (_, parsed, done) = ForBase(pattern.BaseUrl);
        for (var t = 0; t < _topics.Count; t++)
        {
            if (!done[t])
            {
                parsed[t] = UrlComponents.Parse(_topics[t], pattern.BaseRecord);
                done[t] = true;
            }

            if (parsed[t] is { } url && pattern.Matches(url))
            {
                return true;
            }
        }

        return false;
    }

    private (string Base, UrlComponents?[] Parsed, bool[] Done) ForBase(string baseUrl)
    {
        for (var i = 0; i < _bases.Count; i++)
        {
            if (string.Equals(_bases[i].Base, baseUrl, StringComparison.Ordinal))
            {
                if (_bases[i].Parsed.Length < _topics.Count)
                {
                    _bases[i] = (baseUrl, new UrlComponents?[_topics.Count], new bool[_topics.Count]);
                }

                return _bases[i];
            }
        }

        // A hub serves one URL, or one per host it answers to: a handful. Past 16 (hosts a client made up) start over.
        if (_bases.Count >= 16)
        {
            _bases.Clear();
        }

        var entry = (baseUrl, new UrlComponents?[Math.Max(4, _topics.Count)], new bool[Math.Max(4, _topics.Count)]);
        _bases.Add(entry);
        return entry;
    }
}
