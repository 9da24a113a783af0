using Herald;
using Herald.Dispatch;
using Herald.EventStreams;
using Herald.Sse;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Hosting;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Maps Server-Sent Events endpoints.</summary>
public static class EventStreamEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps <c>GET <paramref name="pattern"/></c> to a <c>text/event-stream</c> response. The headers and an
    /// opening comment go out at once; the handler then sends events on the <see cref="EventStream"/> until
    /// it returns or the client disconnects (the token is cancelled and the handler ends quietly).
    /// </summary>
    public static IEndpointConventionBuilder MapEventStream(
        this IEndpointRouteBuilder endpoints,
        string pattern,
        Func<EventStream, CancellationToken, Task> handler,
        EventStreamOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(handler);
        var endpoint = new EventStreamEndpoint(options ?? new EventStreamOptions(), endpoints.ServiceProvider.GetService(typeof(IHostApplicationLifetime)) as IHostApplicationLifetime);
        return endpoints.MapGet(pattern, (HttpContext context) => endpoint.RunAsync(context, handler));
    }

    /// <summary>
    /// Maps <c>GET <paramref name="pattern"/></c> to a <c>text/event-stream</c> response made of the events the
    /// producer yields.
    /// </summary>
    public static IEndpointConventionBuilder MapEventStream(
        this IEndpointRouteBuilder endpoints,
        string pattern,
        Func<HttpContext, CancellationToken, IAsyncEnumerable<ServerSentEvent>> producer,
        EventStreamOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(producer);
        return endpoints.MapEventStream(
            pattern,
            async (stream, cancellationToken) =>
            {
                await foreach (var item in producer(stream.HttpContext, cancellationToken).WithCancellation(cancellationToken).ConfigureAwait(false))
                {
                    await stream.SendAsync(item, cancellationToken).ConfigureAwait(false);
                }
            },
            options);
    }

    private sealed class EventStreamEndpoint(EventStreamOptions options, IHostApplicationLifetime? lifetime)
    {
        private readonly Lazy<HeartbeatTimer> _heartbeat = new(() => new HeartbeatTimer(options.Heartbeat));

        // The endpoint's streams get writer threads of their own (there may be no hub), stopped with the app.
        private readonly Lazy<WriterPool> _writers = new(() =>
        {
            var pool = new WriterPool(WriterPool.DefaultCount);
            lifetime?.ApplicationStopped.Register(pool.Dispose);
            return pool;
        });

        public async Task RunAsync(HttpContext context, Func<EventStream, CancellationToken, Task> handler)
        {
            EventStreamResponse.Prepare(context, isPrivate: false);
            var subscriber = new Subscriber(context.Response.BodyWriter, _writers.Value.Next(), options.QueueCapacity, abort: context.Abort);
            using var registration = context.RequestAborted.Register(static s => ((Subscriber)s!).Close(CloseReason.Disconnected), subscriber);
            using var stopping = (context.RequestServices.GetService(typeof(IHostApplicationLifetime)) as IHostApplicationLifetime)?
                .ApplicationStopping.Register(static s => ((Subscriber)s!).Close(CloseReason.ServerClosed), subscriber);
            var heartbeat = _heartbeat.Value;
            heartbeat.Add(subscriber);
            try
            {
                subscriber.TryEnqueue(SseFrame.Opening);
                await handler(new EventStream(context, subscriber), subscriber.Closing).ConfigureAwait(false);
                await subscriber.CompleteAsync().ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (subscriber.IsClosed)
            {
                // The client went away: the normal end of a stream, not an error.
            }
            finally
            {
                heartbeat.Remove(subscriber);
                await subscriber.ShutdownAsync().ConfigureAwait(false);
            }
        }
    }
}
