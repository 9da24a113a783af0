using System.Net;
using Herald.Dispatch;
using Microsoft.Extensions.Logging;

namespace Herald.Mercure;

/// <summary>
/// Says why the hub ended a stream the client did not leave: one line per cut subscriber (too slow, a failed write,
/// its token expired, the write timeout), at Information; ends that are part of the hub's life (shutdown, history
/// gone mid-replay) at Debug, so a restart of a hub with many streams is not one line each.
/// </summary>
internal static class SubscriberEndLog
{
    /// <summary>Logs why a stream ended with <paramref name="reason"/>; a client that left is no cut.</summary>
    public static void Ended(ILogger logger, MercureHub hub, CloseReason reason, IPAddress? remote)
    {
        var from = remote?.ToString();
        switch (reason)
        {
            case CloseReason.Overflow:
                HubLog.SubscriberCut(logger, from, "too slow (its queue filled)");
                break;
            case CloseReason.WriteFailed:
                HubLog.SubscriberCut(logger, from, "writing to it failed");
                break;
            case CloseReason.TokenExpired:
                HubLog.SubscriberCut(logger, from, "token expired");
                break;
            case CloseReason.WriteTimeout:
                HubLog.SubscriberCut(logger, from, "write timeout");
                break;
            case CloseReason.Shutdown:
            case CloseReason.ServerClosed when hub.IsStopping:
                HubLog.SubscriberClosed(logger, from, "the hub is stopping");
                break;
            case CloseReason.ServerClosed:
                HubLog.SubscriberClosed(logger, from, "ended by the hub");
                break;
        }
    }
}
