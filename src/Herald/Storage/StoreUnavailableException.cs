namespace Herald.Storage;

/// <summary>
/// An append failed for a reason outside the update (disk full, I/O error, database locked by someone else).
/// The hub answers 503 so the publisher retries; updates acknowledged earlier are intact, and the store tries
/// again with the next append, so it recovers on its own once the condition clears.
/// </summary>
internal sealed class StoreUnavailableException : Exception
{
    public StoreUnavailableException()
    {
    }

    public StoreUnavailableException(string message)
        : base(message)
    {
    }

    public StoreUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
