using Microsoft.Extensions.Logging;

namespace Herald.Storage;

/// <summary>How every store hands a stored update to the hub's listener.</summary>
internal static class ListenerCall
{
    /// <summary>Calls the listener; a failure is logged, never thrown, because the update is already stored.</summary>
    public static void Notify(Action<StoredUpdate>? listener, StoredUpdate stored, ILogger logger)
    {
        try
        {
            listener?.Invoke(stored);
        }
#pragma warning disable CA1031 // The update is stored; a faulty listener must not turn that into a failed publish.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            logger.LogError(ex, "The history listener failed on update {Sequence}.", stored.Sequence);
        }
    }

    /// <summary>Calls the announcement listener; a failure is logged, never thrown.</summary>
    public static void Announce(Action<string>? listener, string announcement, ILogger logger)
    {
        try
        {
            listener?.Invoke(announcement);
        }
#pragma warning disable CA1031 // A faulty listener must not fail the stream whose join or leave it announces.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            logger.LogError(ex, "The announcement listener failed.");
        }
    }
}
