namespace Herald;

/// <summary>Settings of an endpoint mapped with <c>MapEventStream</c>.</summary>
public sealed record EventStreamOptions
{
    /// <summary>A comment is sent on a stream that has been silent this long. Zero turns heartbeats off.</summary>
    public TimeSpan Heartbeat { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>How many events may wait for a slow client before <c>SendAsync</c> waits for it to catch up.</summary>
    public int QueueCapacity { get; init; } = 1024;
}
