namespace Herald.Client;

/// <summary>Raised by <see cref="EventSourceClient.Opened"/> when a stream starts.</summary>
public sealed class EventSourceOpenedEventArgs : EventArgs
{
    /// <summary>Creates the arguments.</summary>
    public EventSourceOpenedEventArgs(Uri url, string lastEventId)
    {
        Url = url;
        LastEventId = lastEventId;
    }

    /// <summary>The URL the stream came from, after redirects; reconnections go there first.</summary>
    public Uri Url { get; }

    /// <summary>The <c>Last-Event-ID</c> the request carried (empty when none).</summary>
    public string LastEventId { get; }
}
