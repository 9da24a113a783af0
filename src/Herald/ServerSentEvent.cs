namespace Herald;

/// <summary>
/// One event of a <c>text/event-stream</c>: its data, and optionally an event type, an id and a reconnection delay.
/// </summary>
/// <param name="Data">The payload. Line breaks (CRLF, LF or lone CR) become separate <c>data:</c> lines.</param>
/// <param name="EventType">The <c>event:</c> field; <c>null</c> means the default <c>message</c> type. Must not contain CR or LF.</param>
/// <param name="EventId">The <c>id:</c> field, echoed back by clients as <c>Last-Event-ID</c>. Must not contain CR, LF or NUL.</param>
/// <param name="ReconnectionInterval">The <c>retry:</c> field: how long a client waits before reconnecting.</param>
public readonly record struct ServerSentEvent(string? Data, string? EventType = null, string? EventId = null, TimeSpan? ReconnectionInterval = null);
