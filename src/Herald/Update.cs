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
    public string? EventId { get; init; }

    /// <summary>The SSE <c>event</c> type.</summary>
    public string? EventType { get; init; }

    /// <summary>The SSE <c>retry</c> delay.</summary>
    public TimeSpan? ReconnectionInterval { get; init; }

    /// <summary>
    /// The one-line reason a hub refuses this update, or <c>null</c> when it may be published: the one rule set that
    /// the HTTP publish endpoint, <see cref="IHeraldPublisher"/> and the hub's broadcasts apply (a 400 quotes it). At
    /// least one topic; no empty topic; topics and type without control or format characters and valid UTF-16; an id
    /// that is printable ASCII, does not start with <c>#</c> and is not <c>earliest</c>; no topic exactly <c>*</c> (the
    /// wildcard), nothing in the hub's own namespace (<c>/.well-known/mercure</c> and below; a hub mapped elsewhere
    /// reserves its own path too) and not the type <c>mercure</c>.
    /// </summary>
    /// <remarks>
    /// The hub checks every update once, where it comes in, before it reaches the store; what a store hands back is
    /// delivered without another check (whoever can write to a store can publish anyway). Linear in the topics, id and
    /// type; the data is not scanned (it is framed line by line).
    /// </remarks>
    public string? Check() => Storage.UpdateValidation.Check(this);

    /// <summary>
    /// A fresh id for an update published without one: a <c>urn:uuid:</c> (UUID version 7, time-ordered, so an index of
    /// ids grows at its end), as the Mercure reference hub gives. A store gives one to an update that has none.
    /// </summary>
    public static string NewId() => Storage.UpdateValidation.NewId();
}
