namespace Herald.Topics;

/// <summary>
/// One topic selector: its text and the matcher type that reads it. Subscriptions (<c>topic=</c>, <c>match=</c>,
/// <c>match_urlpattern=</c>) and tokens' grants (the 0.x <c>mercure</c> claim, 1.0 <c>authorization_details</c>) both
/// come down to lists of these.
/// </summary>
/// <remarks><c>*</c> matches every topic whatever the type (Mercure 1.0, "Matcher Types"; 0.x alike).</remarks>
internal readonly record struct Selector(MatcherType Type, string Value)
{
    /// <summary>The selector text that matches every topic.</summary>
    public const string Wildcard = "*";

    public bool IsWildcard => Value == Wildcard;

    /// <summary>A Mercure 0.x selector (<c>topic=</c>, the <c>mercure</c> claim).</summary>
    public static Selector Topic(string value) => new(MatcherType.Topic, value);

    /// <summary>A Mercure 1.0 <c>exact</c> matcher.</summary>
    public static Selector Exact(string value) => new(MatcherType.Exact, value);

    /// <summary>A Mercure 1.0 <c>urlpattern</c> matcher.</summary>
    public static Selector UrlPattern(string value) => new(MatcherType.UrlPattern, value);

    /// <summary>Mercure 0.x selectors, one per text.</summary>
    public static Selector[] Topics(IEnumerable<string> values) => [.. values.Select(Topic)];
}
