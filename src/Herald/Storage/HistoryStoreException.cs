namespace Herald.Storage;

/// <summary>
/// The history store cannot be opened. The message is one line that names the file or directory and says what
/// to do, because the CLI prints it as is and exits.
/// </summary>
internal sealed class HistoryStoreException : Exception
{
    public HistoryStoreException()
    {
    }

    public HistoryStoreException(string message)
        : base(message)
    {
    }

    public HistoryStoreException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
