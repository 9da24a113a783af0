namespace Herald.Storage;

/// <summary>What every store demands of an update before it takes a sequence.</summary>
internal static class UpdateValidation
{
    public static void ThrowIfInvalid(Update update)
    {
        ArgumentNullException.ThrowIfNull(update);
        if (update.Topics is null || update.Topics.Count == 0)
        {
            throw new ArgumentException("An update needs at least one topic.", nameof(update));
        }
    }

    /// <summary>The id given to an update published without one: a <c>urn:uuid:</c> as the Mercure reference hub does.</summary>
    /// <remarks>
    /// Version 7 (time-ordered) rather than random: ids are indexed in history, and ordered ids land at the end
    /// of the index instead of dirtying a random page per insert, which makes SQLite appends about three times
    /// cheaper under load. They are still opaque UUIDs to clients.
    /// </remarks>
    public static string NewId() => "urn:uuid:" + Guid.CreateVersion7().ToString("D");
}
