using Herald.Topics.UrlPatterns;

namespace Herald.Topics;

/// <summary>
/// One subscriber's topic selectors, compiled when its subscription opens: <c>*</c>, exact topics, URI templates
/// (shared through the <see cref="TemplateRegistry"/> until <see cref="Release"/>) and URL patterns.
/// </summary>
/// <remarks>A selector that looks like a template but does not parse matches only itself, as in the reference hub.</remarks>
internal sealed class TopicSelection
{
    private readonly TemplateRegistry? _registry;
    private readonly UrlPatternRegistry? _patternRegistry;
    private readonly bool _counted;
    private int _released;

    private TopicSelection(
        IReadOnlyList<Selector> selectors,
        bool matchesAll,
        string[] exact,
        UriTemplate[] templates,
        UrlPattern[] patterns,
        TemplateRegistry? registry,
        UrlPatternRegistry? patternRegistry = null,
        bool counted = false)
    {
        _patternRegistry = patternRegistry;
        _counted = counted;
        Selectors = selectors;
        MatchesAll = matchesAll;
        Exact = exact;
        Templates = templates;
        Patterns = patterns;
        _registry = registry;
    }

    /// <summary>Selects nothing.</summary>
    public static TopicSelection None { get; } = new([], false, [], [], [], null);

    /// <summary>The selectors as the client sent them.</summary>
    public IReadOnlyList<Selector> Selectors { get; }

    /// <summary>Whether <c>*</c> is among them.</summary>
    public bool MatchesAll { get; }

    /// <summary>Selectors matched by string equality (including templates that do not parse).</summary>
    public string[] Exact { get; }

    public UriTemplate[] Templates { get; }

    /// <summary>URL patterns (Mercure 1.0), shared through the <see cref="UrlPatternRegistry"/> when one is given.</summary>
    public UrlPattern[] Patterns { get; }

    /// <summary>How many selectors are URI templates (they contain <c>{</c>), which cost a match per publish.</summary>
    public static int CountTemplates(IEnumerable<string?> selectors)
        => selectors.Count(s => s is not null && s != TopicMatcher.Wildcard && !TopicMatcher.IsExact(s));

    /// <summary>
    /// Compiles the selectors; URI templates are shared through <paramref name="registry"/>, URL patterns through
    /// <paramref name="patternRegistry"/> when given (else compiled for this selection alone). Not counted against the
    /// hub-wide caps: for token claims, which a trusted issuer wrote.
    /// </summary>
    public static TopicSelection Compile(IReadOnlyList<Selector> selectors, TemplateRegistry registry, string hubUrl, UrlPatternRegistry? patternRegistry = null)
        => Compile(selectors, registry, hubUrl, patternRegistry, counted: false, MatcherClient.Unknown, out _)!;

    /// <summary>
    /// As <see cref="Compile(IReadOnlyList{Selector}, TemplateRegistry, string, UrlPatternRegistry?)"/>; when
    /// <paramref name="counted"/> (a subscription's own selectors, which go into the dispatcher's index) each template and
    /// pattern no one holds yet takes a place under its index bucket's cap, charged to <paramref name="client"/>, and
    /// <c>null</c> with <paramref name="refused"/> set means one bucket was full, or the client's share of it: nothing is
    /// held then.
    /// </summary>
    public static TopicSelection? Compile(
        IReadOnlyList<Selector> selectors,
        TemplateRegistry registry,
        string hubUrl,
        UrlPatternRegistry? patternRegistry,
        bool counted,
        MatcherClient client,
        out bool refused)
    {
        refused = false;
        var matchesAll = false;
        var exact = new List<string>();
        var templates = new List<UriTemplate>();
        var patterns = new List<UrlPattern>();
        foreach (var (type, selector) in selectors)
        {
            if (selector == TopicMatcher.Wildcard)
            {
                matchesAll = true;
            }
            else if (type == MatcherType.Exact || (type == MatcherType.Topic && TopicMatcher.IsExact(selector)))
            {
                exact.Add(selector);
            }
            else if (type == MatcherType.UrlPattern)
            {
                // Checked by whoever took the selector in (subscribe request, token reader); one that does not compile matches nothing.
                var pattern = patternRegistry is not null ? patternRegistry.Acquire(selector, hubUrl, counted, client, out refused)
                    : UrlPattern.TryParse(selector, hubUrl, out var compiled, out _) ? compiled : null;
                if (refused)
                {
                    break;
                }

                if (pattern is not null && patterns.Contains(pattern))
                {
                    patternRegistry!.Release(pattern, counted);
                }
                else if (pattern is not null)
                {
                    patterns.Add(pattern);
                }
            }
            else if (registry.Acquire(selector, counted, client, out refused) is { } template)
            {
                if (templates.Contains(template))
                {
                    registry.Release(template, counted);
                }
                else
                {
                    templates.Add(template);
                }
            }
            else if (refused)
            {
                break;
            }
            else
            {
                exact.Add(selector);
            }
        }

        var selection = new TopicSelection(selectors, matchesAll, [.. exact.Distinct(StringComparer.Ordinal)], [.. templates], [.. patterns], registry, patternRegistry, counted);
        if (refused)
        {
            selection.Release();
            return null;
        }

        return selection;
    }

    public bool Matches(string topic)
    {
        if (MatchesAll)
        {
            return true;
        }

        foreach (var exact in Exact)
        {
            if (string.Equals(exact, topic, StringComparison.Ordinal))
            {
                return true;
            }
        }

        foreach (var template in Templates)
        {
            if (template.Matches(topic))
            {
                return true;
            }
        }

        foreach (var pattern in Patterns)
        {
            if (pattern.Matches(topic))
            {
                return true;
            }
        }

        return false;
    }

    public bool MatchesAny(IReadOnlyList<string> topics)
    {
        for (var t = 0; t < topics.Count; t++)
        {
            if (Matches(topics[t]))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// <see cref="MatchesAny(IReadOnlyList{string})"/> inside one dispatch (<paramref name="stamp"/>, under the
    /// dispatcher's lock): each shared template runs once per update, whatever the number of subscribers holding it,
    /// and the topics are parsed as URLs once for every URL pattern (<paramref name="urls"/>, reset for this update).
    /// </summary>
    public bool MatchesAnyInDispatch(IReadOnlyList<string> topics, long stamp, TopicUrls? urls = null)
    {
        if (MatchesAll)
        {
            return true;
        }

        foreach (var exact in Exact)
        {
            for (var t = 0; t < topics.Count; t++)
            {
                if (string.Equals(exact, topics[t], StringComparison.Ordinal))
                {
                    return true;
                }
            }
        }

        foreach (var template in Templates)
        {
            if (template.MatchesAnyInDispatch(topics, stamp))
            {
                return true;
            }
        }

        foreach (var pattern in Patterns)
        {
            if (urls is not null ? urls.AnyMatches(pattern) : MatchesAny(pattern, topics))
            {
                return true;
            }
        }

        return false;
    }

    private static bool MatchesAny(UrlPattern pattern, IReadOnlyList<string> topics)
    {
        for (var t = 0; t < topics.Count; t++)
        {
            if (pattern.Matches(topics[t]))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Gives the templates back to the registry; once only, however often it is called.</summary>
    public void Release()
    {
        if ((_registry is null && _patternRegistry is null) || Interlocked.Exchange(ref _released, 1) != 0)
        {
            return;
        }

        foreach (var template in Templates)
        {
            _registry?.Release(template, _counted);
        }

        foreach (var pattern in Patterns)
        {
            _patternRegistry?.Release(pattern, _counted);
        }
    }
}
