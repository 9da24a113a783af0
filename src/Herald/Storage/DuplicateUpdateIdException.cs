namespace Herald.Storage;

/// <summary>
/// History already holds an update with the id a publisher chose. Refused rather than stored twice, because
/// <c>Last-Event-ID</c> must name exactly one position to resume from. The hub answers 409 Conflict. An id
/// that retention has already removed is free again.
/// </summary>
public sealed class DuplicateUpdateIdException : Exception
{
    /// <summary>Creates the exception with a default message.</summary>
    public DuplicateUpdateIdException()
    {
    }

    /// <summary>Creates the exception with <paramref name="message"/>.</summary>
    public DuplicateUpdateIdException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with <paramref name="message"/> and the failure that caused it.</summary>
    public DuplicateUpdateIdException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The id that is already taken.</summary>
    public string? Id { get; private init; }

    /// <summary>The refusal a store throws for <paramref name="id"/>: its message says to choose another id, and <see cref="Id"/> is set.</summary>
    public static DuplicateUpdateIdException For(string id) =>
        new($"An update with id '{id}' is already in history; choose another id.") { Id = id };
}
