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

    /// <summary>The id given to an update published without one, as the Mercure reference hub does.</summary>
    public static string NewId() => "urn:uuid:" + Guid.NewGuid().ToString("D");
}
