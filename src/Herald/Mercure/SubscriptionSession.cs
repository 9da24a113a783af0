using Herald.Dispatch;
using Herald.Storage;

namespace Herald.Mercure;

/// <summary>An open subscription: replays what it asked of history, then lives until its stream closes.</summary>
internal sealed class SubscriptionSession(MercureHub hub, TopicSubscriber subscriber, History.Resume resume)
{
    public CancellationTokenRegistration Registration { get; set; }

    public Presence.SubscriberEntry? Subscription { get; set; }

    /// <summary>Who subscribed, and until when its token lets it: what the log says when the stream is cut.</summary>
    public (System.Net.IPAddress? Remote, DateTimeOffset? TokenExpires) Origin { get; init; }

    public async Task RunAsync()
    {
        try
        {
            if (resume.Requested)
            {
                await History.ReplayAsync(hub, subscriber, resume.AfterSequence).ConfigureAwait(false);
            }

            var reason = await subscriber.Completion.ConfigureAwait(false);
            SubscriberEndLog.Ended(hub.Logger, hub, subscriber, reason, Origin.TokenExpires, Origin.Remote);
        }
        catch (OperationCanceledException) when (subscriber.IsClosed)
        {
            // The client left during its replay.
        }
        catch (StoreUnavailableException)
        {
            // History went away mid-replay: end the stream; the client reconnects with the last id it got.
        }
        finally
        {
            await EndAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Closes the stream first, so nothing (a heartbeat sweep, a dispatch) can queue on it once it is
    /// unregistered, and nothing touches the response after the request ends.
    /// </summary>
    public async Task EndAsync()
    {
        subscriber.Close(CloseReason.ServerClosed);
        hub.Untrack(subscriber);
        hub.Dispatcher.Remove(subscriber);
        hub.Leave(Subscription);
        Registration.Dispose();
        await subscriber.ShutdownAsync().ConfigureAwait(false);
    }
}
