using System.Collections.Concurrent;
using Herald.Topics.UrlPatterns;

namespace Herald.Topics;

/// <summary>
/// Decides whether a <see cref="Selector"/> (<c>*</c>, an exact topic, an RFC 6570 URI template, a URL Pattern) matches a topic.
/// Subscriptions compile their selectors once, through <see cref="Compile"/>; this type's own cache serves
/// the selectors of tokens' claims (publish rights, the subscriptions API), which the hub's key holder wrote.
/// </summary>
internal sealed class TopicMatcher
{
    /// <summary>
    /// Past this many cached claim templates the cache is cleared, so tokens with ever-new templates cannot grow
    /// memory without end. Claims name a handful of templates, so 1,000 holds every live one.
    /// </summary>
    private const int MaxCachedTemplates = 1_000;

    private readonly ConcurrentDictionary<string, UriTemplate?> _claimTemplates = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(string Pattern, string Base), UrlPattern?> _claimPatterns = new();

    /// <summary>Caps <see cref="HeraldOptions.MaxMatchersPerAnchor"/> and <see cref="HeraldOptions.MaxMatchersPerAnchorPerClient"/> at their defaults.</summary>
    public TopicMatcher()
        : this(HeraldOptions.DefaultMaxMatchersPerAnchor, HeraldOptions.DefaultMaxMatchersPerAnchorPerClient)
    {
    }

    /// <summary>
    /// The hub's matcher, capped by <see cref="HeraldOptions.MaxMatchersPerAnchor"/> and
    /// <see cref="HeraldOptions.MaxMatchersPerAnchorPerClient"/> (each at least 1, or the hub does not start).
    /// </summary>
    public TopicMatcher(Microsoft.Extensions.Options.IOptions<HeraldOptions> options)
        : this(AtLeastOne(options.Value.MaxMatchersPerAnchor, nameof(HeraldOptions.MaxMatchersPerAnchor)),
            AtLeastOne(options.Value.MaxMatchersPerAnchorPerClient, nameof(HeraldOptions.MaxMatchersPerAnchorPerClient)))
    {
    }

    /// <summary>
    /// At most <paramref name="maxMatchersPerAnchor"/> distinct subscription matchers under one index bucket, and at most
    /// <paramref name="maxPerClient"/> of them brought by one client.
    /// </summary>
    internal TopicMatcher(int maxMatchersPerAnchor, int maxPerClient = int.MaxValue)
    {
        Templates = new TemplateRegistry(maxMatchersPerAnchor, maxPerClient);
        Patterns = new UrlPatternRegistry(maxMatchersPerAnchor, maxPerClient);
    }

    /// <summary>The selector that matches every topic.</summary>
    public const string Wildcard = Selector.Wildcard;

    /// <summary>The templates subscribers hold, shared by text and released when the last one leaves.</summary>
    public TemplateRegistry Templates { get; }

    /// <summary>The URL patterns subscribers hold, shared by (pattern, hub URL) and released when the last one leaves.</summary>
    public UrlPatternRegistry Patterns { get; }

    /// <summary>Whether <paramref name="selector"/> is matched by string equality alone.</summary>
    public static bool IsExact(string selector) => selector != Wildcard && !selector.Contains('{', StringComparison.Ordinal);

    /// <summary>
    /// Compiles a subscription's selectors (linear in their length); release with <see cref="TopicSelection.Release"/>.
    /// URL patterns and the topics they are matched with resolve against <paramref name="hubUrl"/>.
    /// </summary>
    public TopicSelection Compile(IReadOnlyList<Selector>? selectors, string hubUrl)
        => selectors is null || selectors.Count == 0 ? TopicSelection.None : TopicSelection.Compile(selectors, Templates, hubUrl, Patterns);

    /// <summary>
    /// Compiles a subscription's own selectors, which the dispatcher indexes: a template or URL pattern no subscriber holds
    /// yet is counted against <see cref="HeraldOptions.MaxMatchersPerAnchor"/>, and <c>null</c> means its index bucket is
    /// full (the subscription is refused; nothing is held). The token's private selectors go through <see cref="Compile"/>
    /// instead and are not counted: a trusted issuer wrote them, and they run per subscriber, for private updates only.
    /// </summary>
    /// <remarks>
    /// <paramref name="remote"/> is the connection's remote address: each client (<see cref="MatcherClient"/>) may bring at
    /// most <see cref="HeraldOptions.MaxMatchersPerAnchorPerClient"/> of a bucket's places, so no one client fills one.
    /// </remarks>
    public TopicSelection? TryCompile(IReadOnlyList<Selector>? selectors, string hubUrl, System.Net.IPAddress? remote = null)
        => selectors is null || selectors.Count == 0
            ? TopicSelection.None
            : TopicSelection.Compile(selectors, Templates, hubUrl, Patterns, counted: true, MatcherClient.From(remote), out _);

    private static int AtLeastOne(int value, string setting) => value >= 1 ? value
        : throw new InvalidOperationException($"{HeraldOptions.SectionName}:{setting} must be at least 1, not '{value}'.");

    /// <summary>Whether <paramref name="selector"/> matches <paramref name="topic"/>; URL patterns resolve against <paramref name="hubUrl"/>.</summary>
    public bool Matches(Selector selector, string topic, string hubUrl)
    {
        if (selector.IsWildcard)
        {
            return true;
        }

        switch (selector.Type)
        {
            case MatcherType.Exact:
                return string.Equals(selector.Value, topic, StringComparison.Ordinal);
            case MatcherType.UrlPattern:
                var key = (selector.Value, hubUrl);
                if (!_claimPatterns.TryGetValue(key, out var pattern))
                {
                    if (_claimPatterns.Count >= MaxCachedTemplates)
                    {
                        _claimPatterns.Clear();
                    }

                    pattern = UrlPattern.TryParse(selector.Value, hubUrl, out var parsed, out _) ? parsed : null;
                    _claimPatterns[key] = pattern;
                }

                return pattern is not null && pattern.Matches(topic);
            default:
                return Matches(selector.Value, topic);
        }
    }

    /// <summary>Whether a Mercure 0.x selector matches the topic.</summary>
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

        if (!_claimTemplates.TryGetValue(selector, out var template))
        {
            if (_claimTemplates.Count >= MaxCachedTemplates)
            {
                _claimTemplates.Clear();
            }

            template = UriTemplate.TryParse(selector, out var parsed) ? parsed : null;
            _claimTemplates[selector] = template;
        }

        return template is not null && template.Matches(topic);
    }

    /// <summary>Whether any selector matches any topic.</summary>
    public bool MatchesAny(IReadOnlyList<Selector> selectors, IReadOnlyList<string> topics, string hubUrl)
    {
        for (var t = 0; t < topics.Count; t++)
        {
            if (MatchesAny(selectors, topics[t], hubUrl))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Whether any selector matches the topic.</summary>
    public bool MatchesAny(IReadOnlyList<Selector> selectors, string topic, string hubUrl)
    {
        for (var s = 0; s < selectors.Count; s++)
        {
            if (Matches(selectors[s], topic, hubUrl))
            {
                return true;
            }
        }

        return false;
    }
}
