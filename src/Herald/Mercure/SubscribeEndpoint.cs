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
/// <c>GET /.well-known/mercure?match=…</c> (Mercure 1.0; 0.x <c>topic=…</c>), or <c>QUERY</c> with the parameters in a
/// form body: authorize, register the subscriber, then stream until the client leaves, its token expires or the hub
/// closes the stream.
/// </summary>
internal sealed class SubscribeEndpoint(MercureHub hub, MercureTokenValidator tokens, StoreOutageLog outages)
{
    /// <summary>The whole answer to a resume history cannot serve now; the detail is logged (<see cref="StoreOutageLog"/>).</summary>
    internal const string StoreUnavailableReason = "history unavailable, cannot resume now: retry later";

    /// <summary>
    /// A matcher the hub-wide cap (<see cref="HeraldOptions.MaxMatchersPerAnchor"/>) or the client's share of it
    /// (<see cref="HeraldOptions.MaxMatchersPerAnchorPerClient"/>) refuses; it names no selector.
    /// </summary>
    internal const string MatcherCapReason = "too many distinct URI templates or URL patterns share an anchor with one of these on this hub, or came from this client (MaxMatchersPerAnchor, MaxMatchersPerAnchorPerClient): retry later";
    /// <summary>The answer to a subscription while the hub drains its streams for shutdown.</summary>
    internal const string ShuttingDownReason = "the hub is shutting down: retry later";

    /// <summary>The Mercure 1.0 response header naming where the stream resumed.</summary>
    public const string MercureLastEventIdHeader = "Mercure-Last-Event-ID";

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
    public Task<SubscriptionSession?> OpenAsync(HttpContext context)
        => hub.Tracing.Enabled ? OpenTracedAsync(context) : OpenUntracedAsync(context);

    /// <summary>The opening inside its span (<c>herald.subscribe</c>), which the session ends once its replay is over.</summary>
    private async Task<SubscriptionSession?> OpenTracedAsync(HttpContext context)
    {
        var activity = hub.Tracing.StartSubscribe(context);
        SubscriptionSession? session = null;
        try
        {
            session = await OpenUntracedAsync(context).ConfigureAwait(false);
            return session;
        }
        finally
        {
            if (session is null)
            {
                Diagnostics.HeraldTracing.Answered(activity, context.Response.StatusCode);
                activity?.Dispose();
            }
            else
            {
                session.Opening = activity;
            }
        }
    }

    private async Task<SubscriptionSession?> OpenUntracedAsync(HttpContext context)
    {
        var options = hub.Options;
        CorsHeaders.Apply(context, options.CorsOrigins);
        if (hub.IsStopping)
        {
            // Draining for shutdown (HeraldOptions.ShutdownDrain): come back once it is over, to this hub restarted or another node.
            context.Response.Headers.RetryAfter = hub.RetryAfterSeconds;
            await ErrorResponse.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, ShuttingDownReason).ConfigureAwait(false);
            return null;
        }

        var hubUrl = hub.UrlFor(context.Request);
        var (request, status, invalid) = await SubscribeRequest.ReadAsync(context, options, hubUrl).ConfigureAwait(false);
        if (request is null)
        {
            await ErrorResponse.WriteAsync(context, status, invalid!).ConfigureAwait(false);
            return null;
        }

        var authorization = await tokens.AuthenticateAsync(context.Request, TokenAudience.Subscriber, hubUrl, context.RequestAborted).ConfigureAwait(false);
        if (authorization.Status == TokenStatus.Absent && !options.Anonymous)
        {
            var where = options.Protocol == MercureProtocol.V1
                ? $"Authorization: Bearer … or the {options.CookieName} cookie"
                : $"Authorization: Bearer …, the {options.CookieName} cookie, or for Mercure 0.x ?authorization=… or the mercureAuthorization cookie";
            await ErrorResponse.UnauthorizedAsync(context, hubUrl, invalidToken: false, $"a subscriber token is required ({where})").ConfigureAwait(false);
            return null;
        }

        if (authorization.Status is not (TokenStatus.Valid or TokenStatus.Absent))
        {
            await authorization.RefuseAsync(context, hubUrl, TokenAudience.Subscriber).ConfigureAwait(false);
            return null;
        }

        var claims = authorization.Claims;
        var privateSelectors = claims?.Subscribe;
        History.Resume resume;
        try
        {
            // The Last-Event-ID header (what EventSource sends on reconnecting) wins over the query and the body.
            var requested = EventStreamResponse.GetLastEventId(context.Request) is { Length: > 0 } header ? header : request.RequestedLastEventId;
            resume = await History.ResolveAsync(requested, hub, update => MayRead(update, privateSelectors, hubUrl), context.RequestAborted).ConfigureAwait(false);
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

        // Compiled before the stream starts, so a matcher over the hub-wide cap is answered 503 and nothing is held; outside
        // any lock publishing takes, linear in the selectors' length.
        if (hub.Matcher.TryCompile(request.Selectors, hubUrl, context.Connection.RemoteIpAddress) is not { } selection)
        {
            await ErrorResponse.OverLimitAsync(context, "5", MatcherCapReason).ConfigureAwait(false);
            return null;
        }

        var direct = context.Features.Get<DirectResponse>();
        TopicSubscriber? subscriber = null;
        SubscriptionSession? session = null;
        try
        {
            EventStreamResponse.Prepare(context, isPrivate: privateSelectors is { Count: > 0 });
            if (resume.Requested)
            {
                SetLastEventIdHeaders(context.Response, resume.ResponseLastEventId!, legacy: !request.IsV1 && options.Protocol == MercureProtocol.Compatible);
            }

            // A subscription taken over from the server (UseHeraldSubscriptions) writes to its socket directly; any
            // other goes through the server's response pipe.
            SubscriberOutput output;
            if (direct is not null)
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
            subscriber = new TopicSubscriber(
                output,
                hub.Writers.Next(),
                selection,
                hub.Matcher.Compile(privateSelectors, hubUrl),
                options.SubscriberQueueCapacity,
                options.SubscriberQueueBytes,
                lifetime.Abort);
            (subscriber.DeadlineTicks, subscriber.DeadlineReason) = Deadline(hub.Time, claims?.Expires, options.WriteTimeout, Random.Shared);

            session = new SubscriptionSession(hub, subscriber, resume) { Origin = context.Connection.RemoteIpAddress, Direct = direct is not null };
            session.Registration = context.RequestAborted.Register(static s => ((Subscriber)s!).Close(CloseReason.Disconnected), subscriber);
            subscriber.TryEnqueue(SseFrame.Opening);
            if (resume.Requested)
            {
                subscriber.BeginCatchUp();
            }
        }
        catch
        {
            // A client gone before its stream started, or any throw before the session owns the subscriber, must not keep
            // its places under the cap.
            session?.Registration.Dispose();
            selection.Release();
            subscriber?.PrivateSelection.Release();
            throw;
        }

        try
        {
            hub.Telemetry.SubscriptionOpened(session.Direct);
            hub.Dispatcher.Add(subscriber);
            hub.Track(subscriber);
            if (hub.IsStopping)
            {
                // Registered after the hub closed every stream for shutdown: close this one too.
                subscriber.Close(CloseReason.Shutdown);
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

    /// <summary>Whether the subscriber's token lets it read <paramref name="update"/> (Mercure 1.0, "Authorization on Event Replay").</summary>
    private bool MayRead(Update update, IReadOnlyList<Selector>? privateSelectors, string hubUrl)
    {
        if (!update.Private)
        {
            return true;
        }

        if (privateSelectors is null)
        {
            return false;
        }

        foreach (var topic in update.Topics)
        {
            foreach (var selector in privateSelectors)
            {
                if (hub.Matcher.Matches(selector, topic, hubUrl))
                {
                    return true;
                }
            }
        }

        return false;
    }

    /// <summary>
    /// <c>Mercure-Last-Event-ID</c> (Mercure 1.0, "Reconnection"), and for a 0.x request also <c>Last-Event-ID</c>, the
    /// header 0.x clients read: both name the event just before the first one sent.
    /// </summary>
    private static void SetLastEventIdHeaders(HttpResponse response, string id, bool legacy)
    {
        // Only an id a header can carry: ids are refused at publish unless they are printable ASCII, but history written
        // before that rule, or by a store the app fills itself, may hold others, and Kestrel throws on them (a 500).
        // Mercure 1.0 requires its header: "earliest" tells the client it may have missed something, and names nothing.
        var safe = UpdateValidation.IsHeaderSafe(id);
        response.Headers[MercureLastEventIdHeader] = safe ? id : History.Earliest;
        if (legacy && safe)
        {
            response.Headers["Last-Event-ID"] = id;
        }
    }

    /// <summary>
    /// When the server ends the stream (zero: never), and why: the token's expiry or the write timeout, whichever comes
    /// first. Each is spread (<see cref="Spread"/>) so that a fleet which connected together, after a restart, does not
    /// come back together at the next recycle or at a shared expiry.
    /// </summary>
    /// <remarks>
    /// The spread only ever brings a deadline forward: a stream never outlives its token's <c>exp</c> (the token no
    /// longer authorizes it), and never runs longer than the write timeout an operator set. The price is that a client
    /// reconnecting with the same token gets the rest of its life cut short again; each cut leaves at most a fifth of
    /// what was left, so that is a handful of cheap resumes (Last-Event-ID) near the end, not a loop.
    /// </remarks>
    internal static (long Ticks, CloseReason Reason) Deadline(TimeProvider time, DateTimeOffset? expires, TimeSpan writeTimeout, Random random)
    {
        var now = HeartbeatTimer.Now(time);
        long deadline = 0;
        var reason = CloseReason.ServerClosed;
        if (expires is { } exp)
        {
            deadline = now + Spread(Math.Max(0, (long)(exp - time.GetUtcNow()).TotalMilliseconds), random);
            reason = CloseReason.TokenExpired;
        }

        if (writeTimeout > TimeSpan.Zero)
        {
            var recycle = now + Spread((long)writeTimeout.TotalMilliseconds, random);
            if (deadline == 0 || recycle < deadline)
            {
                (deadline, reason) = (recycle, CloseReason.WriteTimeout);
            }
        }

        return (deadline, reason);
    }

    /// <summary>A length drawn uniformly from 80–100 % of <paramref name="lengthMs"/>: never more than it.</summary>
    internal static long Spread(long lengthMs, Random random) => lengthMs - (long)(lengthMs * 0.2 * random.NextDouble());
}
