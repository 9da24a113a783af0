namespace Herald;

/// <summary>An update published to a hub: a payload for the subscribers of one or more topics.</summary>
public sealed record Update
{
    /// <summary>The canonical topic first, then alternate topics. At least one.</summary>
    public required IReadOnlyList<string> Topics { get; init; }

    /// <summary>The payload (the SSE <c>data</c>).</summary>
    public string? Data { get; init; }

    /// <summary>Private updates go only to subscribers whose <c>mercure.subscribe</c> claim matches one of the topics.</summary>
    public bool Private { get; init; }

    /// <summary>The update's id (the SSE <c>id</c>); a <c>urn:uuid:…</c> is generated when none is given.</summary>
    public string? Id { get; init; }

    /// <summary>The SSE <c>event</c> type.</summary>
    public string? Type { get; init; }

    /// <summary>The SSE <c>retry</c> delay.</summary>
    public TimeSpan? Retry { get; init; }
}
