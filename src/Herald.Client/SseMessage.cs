namespace Herald.Client;

/// <summary>One event dispatched by a <c>text/event-stream</c>, as an EventSource would deliver it.</summary>
/// <param name="Data">The event's data: its <c>data</c> lines joined with LF.</param>
/// <param name="EventType">The <c>event</c> field, or <c>message</c> when the server sent none.</param>
/// <param name="LastEventId">
/// The stream's last event id once this event was dispatched: the event's own <c>id</c>, or the most recent one before
/// it when it had none. This is the value the client resumes from with <c>Last-Event-ID</c>.
/// </param>
public sealed record SseMessage(string Data, string EventType = SseMessage.DefaultEventType, string LastEventId = "")
{
    /// <summary>The type of an event that has no <c>event</c> field.</summary>
    public const string DefaultEventType = "message";
}
