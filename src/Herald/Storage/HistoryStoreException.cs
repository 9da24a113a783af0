namespace Herald.Storage;

/// <summary>
/// The history store cannot be opened. The message is one line that names the file or directory and says what
/// to do, because the CLI prints it as is and exits.
/// </summary>
public sealed class HistoryStoreException : Exception
{
    /// <summary>Creates the exception with a default message.</summary>
    public HistoryStoreException()
    {
    }

    /// <summary>Creates the exception with <paramref name="message"/>.</summary>
    public HistoryStoreException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with <paramref name="message"/> and the failure that caused it.</summary>
    public HistoryStoreException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
