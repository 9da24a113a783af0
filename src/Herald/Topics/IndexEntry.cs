namespace Herald.Topics;

/// <summary>One distinct matcher in an index of the dispatcher (<see cref="TemplateIndex{TValue}"/>, <see cref="UrlPatterns.UrlPatternIndex{TValue}"/>) and what it selects.</summary>
internal sealed class IndexEntry<TMatcher, TValue>(TMatcher matcher, TValue value)
{
    public TMatcher Matcher { get; } = matcher;

    public TValue Value { get; } = value;

    /// <summary>The publish that last matched it (so a matcher matching two topics is reported once).</summary>
    public long Stamp { get; set; }

    /// <summary>The topic it last ran on (so a template whose inner literal a topic holds twice runs once).</summary>
    public long Probe { get; set; }
}
