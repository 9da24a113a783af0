using System.Collections.Concurrent;

namespace Herald.Topics;

/// <summary>
/// Decides whether a topic selector (<c>*</c>, an exact topic, or an RFC 6570 URI template) matches a topic,
/// caching each selector × topic result so a publish never re-runs template matching per subscriber.
/// </summary>
internal sealed class TopicMatcher
{
    /// <summary>Past this many cached results the cache is cleared, so topic churn cannot grow memory without end.</summary>
    private const int MaxCachedResults = 100_000;

    private readonly ConcurrentDictionary<(string Selector, string Topic), bool> _results = new();
    private readonly ConcurrentDictionary<string, UriTemplate?> _templates = new(StringComparer.Ordinal);

    /// <summary>The selector that matches every topic.</summary>
    public const string Wildcard = "*";

    /// <summary>Whether <paramref name="selector"/> is matched by string equality alone.</summary>
    public static bool IsExact(string selector) => selector != Wildcard && !selector.Contains('{', StringComparison.Ordinal);

    public bool Matches(string selector, string topic)
    {
        if (selector == Wildcard || string.Equals(selector, topic, StringComparison.Ordinal))
        {
            return true;
        }

        if (IsExact(selector))
        {
            return false;
        }

        if (_results.TryGetValue((selector, topic), out var cached))
        {
            return cached;
        }

        var template = _templates.GetOrAdd(selector, static s => UriTemplate.TryParse(s, out var t) ? t : null);
        var result = template is not null && template.Matches(topic);
        if (_results.Count >= MaxCachedResults)
        {
            _results.Clear();
        }

        _results[(selector, topic)] = result;
        return result;
    }

    /// <summary>Whether any selector matches any topic.</summary>
    public bool MatchesAny(IReadOnlyList<string> selectors, IReadOnlyList<string> topics)
    {
        for (var t = 0; t < topics.Count; t++)
        {
            if (MatchesAny(selectors, topics[t]))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Whether any selector matches the topic.</summary>
    public bool MatchesAny(IReadOnlyList<string> selectors, string topic)
    {
        for (var s = 0; s < selectors.Count; s++)
        {
            if (Matches(selectors[s], topic))
            {
                return true;
            }
        }

        return false;
    }
}
