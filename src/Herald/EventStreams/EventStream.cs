using Herald.Dispatch;
using Herald.EventStreams;
using Herald.Sse;
using Microsoft.AspNetCore.Http;

namespace Herald;

/// <summary>An open <c>text/event-stream</c> response that an endpoint handler sends events on.</summary>
public sealed class EventStream
{
    private readonly Subscriber _subscriber;

    internal EventStream(HttpContext httpContext, Subscriber subscriber)
    {
        HttpContext = httpContext;
        _subscriber = subscriber;
        LastEventId = EventStreamResponse.GetLastEventId(httpContext.Request);
    }

    /// <summary>The request this stream answers.</summary>
    public HttpContext HttpContext { get; }

    /// <summary>The <c>Last-Event-ID</c> the client sent when reconnecting, or <c>null</c> on a first connection.</summary>
    public string? LastEventId { get; }

    /// <summary>Cancelled when the client disconnects or the stream is closed.</summary>
    public CancellationToken Aborted => _subscriber.Closing;

    /// <summary>
    /// Queues an event for the client. Completes at once unless the client is far behind, in which case it
    /// waits for the client to catch up. Throws <see cref="OperationCanceledException"/> once the client is gone.
    /// </summary>
    /// <exception cref="ArgumentException">The id or event type contains CR, LF (or NUL for the id).</exception>
    public ValueTask SendAsync(ServerSentEvent serverSentEvent, CancellationToken cancellationToken = default)
        => _subscriber.EnqueueAsync(SseFrame.Encode(serverSentEvent), cancellationToken);

    /// <summary>Queues an event with only data.</summary>
    public ValueTask SendAsync(string data, CancellationToken cancellationToken = default)
        => SendAsync(new ServerSentEvent(data), cancellationToken);

    /// <summary>Queues a comment line, which clients ignore.</summary>
    public ValueTask SendCommentAsync(string comment, CancellationToken cancellationToken = default)
        => _subscriber.EnqueueAsync(SseFrame.Comment(comment), cancellationToken);
}
