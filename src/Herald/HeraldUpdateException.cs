namespace Herald;

/// <summary>
/// An update the hub refuses to publish: no topic, a topic in the hub's reserved namespace
/// (<c>/.well-known/mercure</c> and below), an id or type with characters that could break a stream or a response
/// header. <see cref="Exception.Message"/> is a one-line reason, the one an HTTP publisher gets with its 400.
/// </summary>
/// <remarks>An <see cref="ArgumentException"/>, so code that already catches that keeps working.</remarks>
public sealed class HeraldUpdateException : ArgumentException
{
    /// <summary>Creates the exception with its one-line reason.</summary>
    public HeraldUpdateException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception without a reason.</summary>
    public HeraldUpdateException()
    {
    }

    /// <summary>Creates the exception with its reason and cause.</summary>
    public HeraldUpdateException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
