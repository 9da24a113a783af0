namespace Herald.Dispatch;

/// <summary>Where a subscriber's writer puts its frames: the response pipe, or the socket itself.</summary>
internal abstract class SubscriberOutput
{
    /// <summary>
    /// Writes <paramref name="count"/> frames as one write. Completes with false when the client is gone.
    /// Usually completes synchronously; when it cannot (the socket is full), the writer waits for it off the loop.
    /// </summary>
    public abstract ValueTask<bool> WriteAsync(byte[][] frames, int count, CancellationToken cancellationToken);
}
