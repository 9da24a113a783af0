namespace Herald.Topics;

/// <summary>How a <see cref="Selector"/>'s text is read.</summary>
internal enum MatcherType
{
    /// <summary>
    /// Mercure 0.x (<c>topic=</c>, the <c>mercure</c> claim): <c>*</c>, an RFC 6570 URI template when it holds <c>{</c>
    /// and parses, else the exact topic.
    /// </summary>
    Topic,

    /// <summary>Mercure 1.0 <c>exact</c> (<c>match=</c>, <c>match_exact=</c>): byte-for-byte, never resolved against anything.</summary>
    Exact,

    /// <summary>Mercure 1.0 <c>urlpattern</c> (<c>match_urlpattern=</c>): a WHATWG URL Pattern; relative patterns and topics resolve against the hub URL.</summary>
    UrlPattern,
}
