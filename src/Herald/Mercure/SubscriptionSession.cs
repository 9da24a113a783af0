using Herald.Dispatch;
using Herald.Storage;

namespace Herald.Mercure;

/// <summary>An open subscription: replays what it asked of history, then lives until its stream closes.</summary>
internal sealed class SubscriptionSession(MercureHub hub, TopicSubscriber subscriber, History.Resume resume)
{
    public CancellationTokenRegistration Registration { get; set; }

    public Presence.SubscriberEntry? Subscription { get; set; }

    /// <summary>Who subscribed: what the log says when the stream is cut.</summary>
    public System.Net.IPAddress? Origin { get; init; }

    /// <summary>Whether it is served on Herald's own socket path (the metrics count the two paths apart).</summary>
    public bool Direct { get; init; }

    /// <summary>The span of its opening and replay (<c>herald.subscribe</c>), when spans are collected; ended once it is live.</summary>
    public System.Diagnostics.Activity? Opening { get; set; }

    public async Task RunAsync()
    {
        try
        {
            if (resume.Requested)
            {
                await History.ReplayAsync(hub, subscriber, resume.AfterSequence).ConfigureAwait(false);
            }

            EndOpening();

            var reason = await subscriber.Completion.ConfigureAwait(false);
            SubscriberEndLog.Ended(hub.Logger, hub, reason, Origin);
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
        hub.Telemetry.SubscriptionClosed(Direct, subscriber.Completion.IsCompletedSuccessfully ? subscriber.Completion.Result : CloseReason.ServerClosed);
        EndOpening();
        hub.Leave(Subscription);
        Registration.Dispose();
        await subscriber.ShutdownAsync().ConfigureAwait(false);
    }

    private void EndOpening()
    {
        Opening?.Dispose();
        Opening = null;
    }
}
