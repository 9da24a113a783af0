namespace Herald.Client;

/// <summary>One update to publish to a Mercure hub (the fields of its <c>POST</c> form).</summary>
public sealed record PublishRequest
{
    /// <summary>
    /// The update's topics: the first is its canonical topic, the others alternates. At least one is required; the
    /// publisher's token must be allowed to publish to every one.
    /// </summary>
    public required IReadOnlyList<string> Topics { get; init; }

    /// <summary>The payload subscribers receive as the event's data; <c>null</c> sends none.</summary>
    public string? Data { get; init; }

    /// <summary>True to deliver the update only to subscribers whose token allows one of its topics.</summary>
    public bool Private { get; init; }

    /// <summary>The update id (must not start with <c>#</c>); <c>null</c> lets the hub generate one.</summary>
    public string? EventId { get; init; }

    /// <summary>The SSE event type subscribers see; <c>null</c> means <c>message</c>.</summary>
    public string? EventType { get; init; }

    /// <summary>The reconnection time to send subscribers in the event's <c>retry</c> field.</summary>
    public TimeSpan? ReconnectionInterval { get; init; }
}
