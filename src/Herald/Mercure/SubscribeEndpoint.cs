using Herald.DirectHttp;
using Herald.Dispatch;
using Herald.EventStreams;
using Herald.Security;
using Herald.Sse;
using Herald.Storage;
using Herald.Topics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Herald.Mercure;

/// <summary>
/// <c>GET /.well-known/mercure?topic=…</c>: authorize, register the subscriber, then stream until the client
/// leaves, its token expires or the hub closes the stream.
/// </summary>
internal sealed class SubscribeEndpoint(MercureHub hub, MercureTokenValidator tokens, StoreOutageLog outages)
{
    /// <summary>The whole answer to a resume history cannot serve now; the detail is logged (<see cref="StoreOutageLog"/>).</summary>
    internal const string StoreUnavailableReason = "history unavailable, cannot resume now: retry later";

    public async Task HandleAsync(HttpContext context)
    {
        if (await OpenAsync(context).ConfigureAwait(false) is { } session)
        {
            await session.RunAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Validates and authorizes the request, starts the event stream and registers the subscriber. Returns
    /// <c>null</c> when the request was answered with an error instead. The session it returns holds nothing of
    /// the request: a subscription served straight from its connection drops the request once it is open.
    /// </summary>
    public async Task<SubscriptionSession?> OpenAsync(HttpContext context)
    {
        var options = hub.Options;
        CorsHeaders.Apply(context, options.CorsOrigins);

        var selectors = context.Request.Query["topic"];
        if (selectors.Count == 0)
        {
            await ErrorResponse.WriteAsync(context, StatusCodes.Status400BadRequest, "missing topic parameter").ConfigureAwait(false);
            return null;
        }

        if (selectors.Count > options.MaxTopicsPerSubscription)
        {
            await ErrorResponse.WriteAsync(context, StatusCodes.Status400BadRequest, $"too many topic parameters (at most {options.MaxTopicsPerSubscription})").ConfigureAwait(false);
            return null;
        }

        foreach (var selector in selectors)
        {
            if (string.IsNullOrEmpty(selector))
            {
                await ErrorResponse.WriteAsync(context, StatusCodes.Status400BadRequest, "empty topic parameter").ConfigureAwait(false);
                return null;
            }

            if (selector.Length > options.MaxSelectorLength)
            {
                await ErrorResponse.WriteAsync(context, StatusCodes.Status400BadRequest, $"topic parameter too long (MaxSelectorLength: at most {options.MaxSelectorLength} characters)").ConfigureAwait(false);
                return null;
            }

            if (selector.AsSpan().Count('{') > options.MaxTemplateExpressions)
            {
                await ErrorResponse.WriteAsync(context, StatusCodes.Status400BadRequest, $"topic parameter has too many template expressions (MaxTemplateExpressions: at most {options.MaxTemplateExpressions})").ConfigureAwait(false);
                return null;
            }
        }

        if (TopicSelection.CountTemplates(selectors) > options.MaxTemplateSelectorsPerSubscription)
        {
            await ErrorResponse.WriteAsync(context, StatusCodes.Status400BadRequest, $"too many URI template topic parameters (MaxTemplateSelectorsPerSubscription: at most {options.MaxTemplateSelectorsPerSubscription})").ConfigureAwait(false);
            return null;
        }

        var hubUrl = hub.UrlFor(context.Request);
        var authorization = await tokens.AuthenticateAsync(context.Request, TokenAudience.Subscriber, hubUrl, context.RequestAborted).ConfigureAwait(false);
        if (authorization.Status != TokenStatus.Valid && !(authorization.Status == TokenStatus.Absent && options.Anonymous))
        {
            await authorization.RefuseAsync(context, hubUrl, TokenAudience.Subscriber).ConfigureAwait(false);
            return null;
        }

        var claims = authorization.Claims;
        var privateSelectors = claims?.Subscribe;
        History.Resume resume;
        try
        {
            resume = await History.ResolveAsync(context.Request, hub.Store, context.RequestAborted).ConfigureAwait(false);
        }
        catch (StoreUnavailableException e)
        {
            // The store's message names its file or its Redis host and quotes the driver: the log gets it, not the client.
            outages.Refused("resuming a subscription", e);
            context.Response.Headers.RetryAfter = "1";
            await ErrorResponse.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, StoreUnavailableReason).ConfigureAwait(false);
            return null;
        }

        if (resume.Requested)
        {
            outages.Answered();
        }

        EventStreamResponse.Prepare(context, isPrivate: privateSelectors is { Count: > 0 });
        // Only an id a header can carry: ids are refused at publish unless they are printable ASCII, but history written
        // before that rule, or by a store the app fills itself, may hold others, and Kestrel throws on them (a 500).
        if (resume.ResponseLastEventId is { } responseId && UpdateValidation.IsHeaderSafe(responseId))
        {
            context.Response.Headers["Last-Event-ID"] = responseId;
        }

        // A subscription taken over from the server (UseHeraldSubscriptions) writes to its socket directly; any
        // other goes through the server's response pipe.
        SubscriberOutput output;
        if (context.Features.Get<DirectResponse>() is { } direct)
        {
            await context.Response.StartAsync(context.RequestAborted).ConfigureAwait(false);
            output = direct.CreateOutput();
        }
        else
        {
            output = new PipeOutput(context.Response.BodyWriter);
        }

        // The abort is bound to the lifetime feature, not the context, so the subscriber does not keep the request alive.
        var lifetime = context.Features.GetRequiredFeature<IHttpRequestLifetimeFeature>();
        // Compiled here, before registering and outside any lock publishing takes; linear in the selectors' length.
        var subscriber = new TopicSubscriber(
            output,
            hub.Writers.Next(),
            hub.Matcher.Compile(Selector.Topics(selectors!), hubUrl),
            hub.Matcher.Compile(privateSelectors, hubUrl),
            options.SubscriberQueueCapacity,
            options.SubscriberQueueBytes,
            lifetime.Abort);
        subscriber.DeadlineTicks = Deadline(hub.Time, claims?.Expires, options.WriteTimeout);

        var session = new SubscriptionSession(hub, subscriber, resume);
        session.Registration = context.RequestAborted.Register(static s => ((Subscriber)s!).Close(CloseReason.Disconnected), subscriber);
        subscriber.TryEnqueue(SseFrame.Opening);
        if (resume.Requested)
        {
            subscriber.BeginCatchUp();
        }

        try
        {
            hub.Dispatcher.Add(subscriber);
            hub.Track(subscriber);
            if (hub.IsStopping)
            {
                // Registered after the hub closed every stream for shutdown: close this one too.
                subscriber.Close(CloseReason.ServerClosed);
            }

            session.Subscription = hub.Join(subscriber.Selectors, claims, hubUrl);
        }
        catch
        {
            await session.EndAsync().ConfigureAwait(false);
            throw;
        }

        return session;
    }

    private static long Deadline(TimeProvider time, DateTimeOffset? expires, TimeSpan writeTimeout)
    {
        var now = HeartbeatTimer.Now(time);
        long deadline = 0;
        if (expires is { } exp)
        {
            deadline = now + Math.Max(0, (long)(exp - time.GetUtcNow()).TotalMilliseconds);
        }

        if (writeTimeout > TimeSpan.Zero)
        {
            var recycle = now + (long)writeTimeout.TotalMilliseconds;
            deadline = deadline == 0 ? recycle : Math.Min(deadline, recycle);
        }

        return deadline;
    }
}
