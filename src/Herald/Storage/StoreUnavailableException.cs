namespace Herald.Storage;

/// <summary>
/// An append failed for a reason outside the update (disk full, I/O error, database locked by someone else).
/// The hub answers 503 so the publisher retries; updates acknowledged earlier are intact, and the store tries
/// again with the next append, so it recovers on its own once the condition clears.
/// </summary>
public sealed class StoreUnavailableException : Exception
{
    /// <summary>Creates the exception with a default message.</summary>
    public StoreUnavailableException()
    {
    }

    /// <summary>Creates the exception with <paramref name="message"/>.</summary>
    public StoreUnavailableException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with <paramref name="message"/> and the failure that caused it.</summary>
    public StoreUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
