namespace Herald.Storage;

/// <summary>An update with its position in the store's total order.</summary>
/// <param name="Sequence">
/// Strictly increasing and unique, and it survives restarts: a store never hands out a number it handed out
/// before, even when retention has removed every update. Subscribers resume from it, so reusing one would
/// replay the wrong history.
/// </param>
/// <param name="Update">The update as stored; its <see cref="Herald.Update.EventId"/> is always set.</param>
/// <param name="StoredAt">When the store accepted it; retention by age counts from here.</param>
public sealed record StoredUpdate(long Sequence, Update Update, DateTimeOffset StoredAt)
{
    /// <summary>The update's id, never <c>null</c> once stored.</summary>
    public string Id => Update.EventId!;
}
