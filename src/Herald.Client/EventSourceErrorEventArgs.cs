namespace Herald.Client;

/// <summary>Raised by <see cref="EventSourceClient.Error"/> when a connection fails or ends.</summary>
public sealed class EventSourceErrorEventArgs : EventArgs
{
    /// <summary>Creates the arguments.</summary>
    public EventSourceErrorEventArgs(Exception exception, bool willRetry, TimeSpan retryDelay, int consecutiveFailures)
    {
        Exception = exception;
        WillRetry = willRetry;
        RetryDelay = retryDelay;
        ConsecutiveFailures = consecutiveFailures;
    }

    /// <summary>
    /// What happened: an <see cref="EventSourceException"/> (a status, a content type, or the server ending the
    /// stream), a <see cref="TimeoutException"/> (the idle timeout), or the <see cref="HttpRequestException"/> or
    /// <see cref="IOException"/> of a network failure.
    /// </summary>
    public Exception Exception { get; }

    /// <summary>
    /// True when the client reconnects after <see cref="RetryDelay"/>; false when it has given up and the enumeration
    /// throws <see cref="Exception"/>.
    /// </summary>
    public bool WillRetry { get; }

    /// <summary>The wait before the next attempt (zero when <see cref="WillRetry"/> is false).</summary>
    public TimeSpan RetryDelay { get; }

    /// <summary>How many connection attempts in a row have failed, this one included (a dropped stream counts as one).</summary>
    public int ConsecutiveFailures { get; }
}
