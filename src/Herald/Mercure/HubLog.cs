using Microsoft.Extensions.Logging;

namespace Herald.Mercure;

/// <summary>What the hub logs: deliveries, presence, store outages, refused requests, cut subscribers and the shutdown drain (event ids 600-619).</summary>
internal static partial class HubLog
{
    [LoggerMessage(EventId = 600, Level = LogLevel.Error, Message = "Delivering update {Sequence} failed; it is stored, and subscribers that resume get it from history.")]
    public static partial void DeliveryFailed(ILogger logger, Exception exception, long sequence);

    [LoggerMessage(EventId = 601, Level = LogLevel.Error, Message = "Delivering a subscription event failed; the subscriptions API still lists the change.")]
    public static partial void SubscriptionEventFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 602, Level = LogLevel.Warning, Message = "Subscription events of {Subscriber} not sent: {Reason}")]
    public static partial void SubscriptionEventsNotSent(ILogger logger, string subscriber, string reason);

    [LoggerMessage(EventId = 603, Level = LogLevel.Error, Message = "The history store is unavailable: {What} refused with 503 until it answers again. {Detail}")]
    public static partial void StoreUnavailable(ILogger logger, Exception exception, string what, string detail);

    [LoggerMessage(EventId = 604, Level = LogLevel.Warning, Message = "The history store is still unavailable: {Count} more requests refused with 503; latest ({What}): {Detail}")]
    public static partial void StoreStillUnavailable(ILogger logger, long count, string what, string detail);

    [LoggerMessage(EventId = 605, Level = LogLevel.Information, Message = "The history store answers again ({Count} requests refused since the last report).")]
    public static partial void StoreAnswersAgain(ILogger logger, long count);

    [LoggerMessage(EventId = 606, Level = LogLevel.Warning, Message = "Update {Sequence} in the history store has an id or type that would break the event stream (CR, LF or NUL); it is not delivered. Only hubs should write to the store.")]
    public static partial void Unframable(ILogger logger, long sequence);

    [LoggerMessage(EventId = 607, Level = LogLevel.Information, Message = "Refused {Method} {Path} from {RemoteAddress} with {Status}: {Reason}")]
    public static partial void Refused(ILogger logger, string method, string path, string? remoteAddress, int status, string reason);

    [LoggerMessage(EventId = 608, Level = LogLevel.Debug, Message = "Refused {Method} {Path} from {RemoteAddress} with {Status}: {Reason}")]
    public static partial void RefusedBeyondBudget(ILogger logger, string method, string path, string? remoteAddress, int status, string reason);

    [LoggerMessage(EventId = 609, Level = LogLevel.Warning, Message = "{Count} more requests were refused in the last {Window}; only the first {Budget} of a window are logged at Information, the others at Debug (event 608).")]
    public static partial void RefusalsBeyondBudget(ILogger logger, long count, TimeSpan window, int budget);

    [LoggerMessage(EventId = 610, Level = LogLevel.Information, Message = "Cut the subscriber from {RemoteAddress}: {Why}; it resumes with Last-Event-ID when it reconnects.")]
    public static partial void SubscriberCut(ILogger logger, string? remoteAddress, string why);

    [LoggerMessage(EventId = 611, Level = LogLevel.Debug, Message = "Closed the stream of the subscriber from {RemoteAddress}: {Why}.")]
    public static partial void SubscriberClosed(ILogger logger, string? remoteAddress, string why);

    [LoggerMessage(EventId = 612, Level = LogLevel.Information, Message = "Shutting down: closing {Count} streams spread over up to {Window}, each with a retry hint; new subscriptions get 503 and Retry-After meanwhile.")]
    public static partial void DrainStarted(ILogger logger, int count, TimeSpan window);
}
