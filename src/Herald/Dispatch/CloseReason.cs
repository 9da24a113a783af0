namespace Herald.Dispatch;

/// <summary>Why a subscriber's stream ended.</summary>
internal enum CloseReason
{
    None,
    /// <summary>The client went away or the request was aborted.</summary>
    Disconnected,
    /// <summary>The client did not keep up: its queue filled, so it was cut (it resumes with Last-Event-ID).</summary>
    Overflow,
    /// <summary>The server ended the stream (token expiry, write timeout, shutdown).</summary>
    ServerClosed,
    /// <summary>Writing to the connection failed.</summary>
    WriteFailed,
}
