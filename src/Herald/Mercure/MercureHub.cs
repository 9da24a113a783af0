using Herald.Dispatch;
using Herald.Sse;
using Herald.Topics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Herald.Mercure;

/// <summary>
/// The hub: where a published update becomes one encoded frame handed to every subscriber it concerns.
/// Both the HTTP publish endpoint and application code (<see cref="IHeraldPublisher"/>) publish through here.
/// </summary>
internal sealed class MercureHub : IHeraldPublisher, IDisposable
{
    private readonly HeartbeatTimer _heartbeat;

    public MercureHub(IOptions<HeraldOptions> options, TopicMatcher matcher, HubMetrics metrics, IHostApplicationLifetime? lifetime = null)
    {
        Options = options.Value;
        Matcher = matcher;
        Metrics = metrics;
        Dispatcher = new Dispatcher(matcher);
        _heartbeat = new HeartbeatTimer(Options.Heartbeat);

        // Streams never end by themselves: without this, a graceful shutdown would wait its whole timeout.
        lifetime?.ApplicationStopping.Register(CloseAll);
    }

    /// <summary>Ends every stream cleanly (clients reconnect, to another node or after a restart).</summary>
    public void CloseAll() => Dispatcher.ForEach(static (s, _) => s.Close(CloseReason.ServerClosed), 0);

    public HeraldOptions Options { get; }

    public TopicMatcher Matcher { get; }

    public Dispatcher Dispatcher { get; }

    public HubMetrics Metrics { get; }

    /// <summary>How many subscribers are connected to this node.</summary>
    public int SubscriberCount => Dispatcher.Count;

    /// <summary>Validates an update (throws <see cref="ArgumentException"/> with a one-line reason) and gives it an id.</summary>
    public static Update Prepare(Update update)
    {
        ArgumentNullException.ThrowIfNull(update);
        if (update.Topics is null || update.Topics.Count == 0)
        {
            throw new ArgumentException("an update needs at least one topic", nameof(update));
        }

        if (update.Id is { } id && id.StartsWith('#'))
        {
            throw new ArgumentException("id must not start with #", nameof(update));
        }

        if (SseFrame.Check(update.Id, update.Type) is { } error)
        {
            throw new ArgumentException(error, nameof(update));
        }

        return update.Id is null ? update with { Id = NewId() } : update;
    }

    /// <summary>A fresh update or subscriber id.</summary>
    public static string NewId() => "urn:uuid:" + Guid.NewGuid().ToString("D");

    public ValueTask<string> PublishAsync(Update update, CancellationToken cancellationToken = default)
    {
        update = Prepare(update);
        Deliver(update);
        return ValueTask.FromResult(update.Id!);
    }

    /// <summary>Encodes the update once and queues it on every subscriber it concerns.</summary>
    public void Deliver(Update update)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var frame = SseFrame.Encode(update.Data, update.Type, update.Id, update.Retry);
        var delivered = Dispatcher.Dispatch(update.Topics, update.Private, frame);
        Metrics.RecordDispatch(delivered, System.Diagnostics.Stopwatch.GetElapsedTime(started));
    }

    /// <summary>Starts the sweep (heartbeats, deadlines) for a stream.</summary>
    public void Track(Subscriber subscriber) => _heartbeat.Add(subscriber);

    public void Untrack(Subscriber subscriber) => _heartbeat.Remove(subscriber);

    public void Dispose() => _heartbeat.Dispose();
}
