namespace Herald;

/// <summary>Publishes updates to the hub from application code, without HTTP.</summary>
public interface IHeraldPublisher
{
    /// <summary>
    /// Publishes <paramref name="update"/> and returns its id once it is stored (durable when the hub's store is);
    /// delivery to subscribers happens after, without waiting for them.
    /// </summary>
    /// <exception cref="HeraldUpdateException">
    /// The update is refused; the message says why in one line. No topic; a topic or type with control or format
    /// characters; an id that is not printable ASCII, starts with <c>#</c> or is <c>earliest</c>; a topic in the hub's
    /// own namespace (<c>/.well-known/mercure</c> and below, however written: only the hub publishes there); the type
    /// <c>mercure</c>. It is an <see cref="ArgumentException"/>.
    /// </exception>
    ValueTask<string> PublishAsync(Update update, CancellationToken cancellationToken = default);
}
