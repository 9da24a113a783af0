using System.Text;

namespace Herald.Topics.UrlPatterns;

/// <summary>
/// An update's topics parsed as URLs, each once per dispatch and base URL (the hub URL, rarely more than one), however
/// many URL patterns and subscribers look at them. Owned by the dispatcher and used under its lock only.
/// </summary>
internal sealed class TopicUrls
{
    private static readonly System.Buffers.SearchValues<char> SchemeCharacters =
        System.Buffers.SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-.");

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

    /// <summary>How many topics the update has.</summary>
    public int Count => _topics.Count;

    /// <summary>Topic <paramref name="t"/> as a URL.</summary>
    public string this[int t] => _topics[t];

    /// <summary>Whether <paramref name="pattern"/> matches one of the topics.</summary>
    public bool AnyMatches(UrlPattern pattern)
    {
        for (var t = 0; t < _topics.Count; t++)
        {
            if (Get(t, pattern.BaseUrl, pattern.BaseRecord) is { } url && pattern.Matches(url))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Topic <paramref name="t"/> parsed against <paramref name="baseRecord"/> (once per update and base); null when it is no URL.</summary>
    public UrlComponents? Get(int t, string baseUrl, UrlRecord? baseRecord)
    {
        var (_, parsed, done) = ForBase(baseUrl);
        if (!done[t])
        {
            parsed[t] = UrlComponents.Parse(_topics[t], baseRecord);
            done[t] = true;
        }

        return parsed[t];
    }

    /// <summary>
    /// Whether <paramref name="topic"/> parses to the same URL against every base, none included: it names its scheme, and
    /// for a special scheme (<c>https</c>, <c>file</c>…) <c>//</c> follows, so the URL parser never reaches a state that reads
    /// the base (URL Standard: "no scheme", "special relative or authority", "relative", "file" states). Conservative: a
    /// topic with a tab or newline (which the parser drops) counts as relative.
    /// </summary>
    public static bool IsBaseIndependent(string topic)
    {
        var text = topic.AsSpan().Trim(UrlParser.C0ControlOrSpace);
        if (text.IsEmpty || !char.IsAsciiLetter(text[0]) || text.ContainsAny('\t', '\n', '\r'))
        {
            return false;
        }

        var colon = text.IndexOfAnyExcept(SchemeCharacters);
        if (colon < 0 || text[colon] != ':')
        {
            return false;
        }

        // No special scheme is longer than five letters.
        Span<char> scheme = stackalloc char[5];
        if (colon > scheme.Length)
        {
            return true;
        }

        Ascii.ToLower(text[..colon], scheme, out var written);
        foreach (var special in SpecialSchemes.All)
        {
            if (scheme[..written].SequenceEqual(special))
            {
                return text[(colon + 1)..].StartsWith("//", StringComparison.Ordinal);
            }
        }

        return true;
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
