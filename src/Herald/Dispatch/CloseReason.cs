namespace Herald.Dispatch;

/// <summary>Why a subscriber's stream ended (the metrics count closes by it: <c>herald.close.reason</c>).</summary>
internal enum CloseReason
{
    None,
    /// <summary>The client went away or the request was aborted.</summary>
    Disconnected,
    /// <summary>The client did not keep up: its queue filled, so it was cut (it resumes with Last-Event-ID).</summary>
    Overflow,
    /// <summary>The server ended the stream for a reason of its own (its request ended, history failed mid-replay).</summary>
    ServerClosed,
    /// <summary>Writing to the connection failed.</summary>
    WriteFailed,
    /// <summary>The subscriber's token expired: the server ended the stream at its deadline.</summary>
    TokenExpired,
    /// <summary>The stream reached the hub's write timeout (<see cref="HeraldOptions.WriteTimeout"/>): the client reconnects.</summary>
    WriteTimeout,
    /// <summary>The hub is shutting down.</summary>
    Shutdown,
}
