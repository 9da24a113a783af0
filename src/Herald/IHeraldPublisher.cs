namespace Herald;

/// <summary>Publishes updates to the hub from application code, without HTTP.</summary>
public interface IHeraldPublisher
{
    /// <summary>
    /// Publishes <paramref name="update"/> and returns its id once it is stored (durable when the hub's store is);
    /// delivery to subscribers happens after, without waiting for them.
    /// </summary>
    /// <exception cref="ArgumentException">The update is invalid (no topic, or CR/LF/NUL in its id or type).</exception>
    ValueTask<string> PublishAsync(Update update, CancellationToken cancellationToken = default);
}
