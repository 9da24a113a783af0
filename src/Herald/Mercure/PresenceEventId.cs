using System.Globalization;

namespace Herald.Mercure;

/// <summary>
/// The id of a subscription event (presence): names where in history the event fell, so a subscriber whose last event
/// was one can resume from it. Subscription events are not history (never stored, never replayed), so a plain id would
/// be unknown to every hub, and a resume from an unknown id replays nothing: whatever was published while the client
/// was away would be lost. <c>urn:herald:presence:&lt;S&gt;:&lt;random&gt;</c> says "after the update numbered S";
/// the random part keeps every event's id unique.
/// </summary>
/// <remarks>
/// A client can send such an id made up: it then resumes after a position of its choosing, which gives it nothing
/// "earliest" would not (it still gets only the updates it may read), and names no update. Sequences are one order
/// across a cluster (one Redis log), so a node resumes a subscriber from another node's subscription event too.
/// </remarks>
internal static class PresenceEventId
{
    private const string Prefix = "urn:herald:presence:";

    /// <summary>A new id for an event dispatched after the update numbered <paramref name="afterSequence"/> and before the next.</summary>
    public static string New(long afterSequence)
        => string.Create(CultureInfo.InvariantCulture, $"{Prefix}{afterSequence}:{Guid.NewGuid():N}");

    /// <summary>Whether <paramref name="id"/> is a subscription event's id, and after which update it fell.</summary>
    public static bool TryParse(string id, out long afterSequence)
    {
        afterSequence = 0;
        if (!id.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return false;
        }

        var rest = id.AsSpan(Prefix.Length);
        var colon = rest.IndexOf(':');
        return colon > 0
            && colon <= 19
            && long.TryParse(rest[..colon], NumberStyles.None, CultureInfo.InvariantCulture, out afterSequence);
    }
}
