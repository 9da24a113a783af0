namespace Herald.Client;

/// <summary>Raised by <see cref="EventSourceClient.Opened"/> when a stream starts.</summary>
public sealed class EventSourceOpenedEventArgs : EventArgs
{
    /// <summary>Creates the arguments.</summary>
    public EventSourceOpenedEventArgs(Uri url, string lastEventId)
        : this(url, lastEventId, resumedAfter: null)
    {
    }

    /// <summary>Creates the arguments, with the position the server says the stream resumes after.</summary>
    public EventSourceOpenedEventArgs(Uri url, string lastEventId, string? resumedAfter)
    {
        Url = url;
        LastEventId = lastEventId;
        ResumedAfter = resumedAfter;
    }

    /// <summary>The URL the stream came from, after redirects; reconnections go there first.</summary>
    public Uri Url { get; }

    /// <summary>The <c>Last-Event-ID</c> the request carried (empty when none).</summary>
    public string LastEventId { get; }

    /// <summary>
    /// Where the hub says the stream resumes: the id of the event before the first one it sends, <c>earliest</c> when
    /// nothing precedes it or the requested id is unknown (Mercure 1.0's <c>Mercure-Last-Event-ID</c> response header,
    /// or 0.x's <c>Last-Event-ID</c>). <c>null</c> when the server sent neither. Compare it with
    /// <see cref="LastEventId"/>: a different value means updates may have been lost.
    /// </summary>
    public string? ResumedAfter { get; }
}
