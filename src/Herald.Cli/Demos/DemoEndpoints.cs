using System.Runtime.InteropServices;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.StaticFiles;

namespace Herald.Cli.Demos;

/// <summary>
/// The server side of the pages <c>herald serve --demo</c> shows at <c>/</c>: the live figures feed, subscribe-only
/// tokens for the pages (in a cookie, never in a URL), and the two endpoints that publish on a visitor's behalf after checking what they sent
/// (rate-limited per client, see <see cref="DemoPublishLimit"/>).
/// </summary>
internal static class DemoEndpoints
{
    /// <summary>
    /// Configuration key that turns the demos on (<c>herald serve --demo</c>, <c>Demos__Enabled=true</c>). Off by
    /// default: they publish into history on a visitor's behalf without a token, which a production hub must not do.
    /// </summary>
    public const string EnabledKey = "Demos:Enabled";

    /// <summary>Settings <c>herald serve --demo</c> starts from; configuration and flags still win.</summary>
    /// <remarks>Presence is on so the chat can show who is online; <c>Herald__Subscriptions=false</c> turns it off.</remarks>
    public static IReadOnlyDictionary<string, string?> ServeDefaults { get; } = new Dictionary<string, string?>
    {
        ["Herald:Subscriptions"] = "true",

        // The pages' EventSource presents its token in this cookie. Browsers refuse a __Secure- cookie over plain
        // HTTP, where a demo usually runs (http://localhost:5080), so --demo drops the prefix; set Herald:CookieName
        // (or Herald__CookieName) to keep it behind HTTPS.
        ["Herald:CookieName"] = "mercure_access_token",

        // Mercure 1.0 tokens name a trusted issuer bound to the hub's keys; the demo pages' tokens name this one
        // unless --issuer (Herald:Issuer) names another.
        [DemoTokens.IssuerKey] = "https://herald.local/demo",
    };

    private const long MaxBodyBytes = 8 * 1024;

    private const string CannotIssue =
        "the demos cannot issue tokens: the hub's subscriber key is not an HS256 secret (of 32 bytes or more for Mercure 1.0 tokens), or Mercure 1.0 tokens have no issuer (--issuer); run it with --demo, --anonymous or such a --jwt-key, or Demos__Protocol=0";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>Registers the demos' services when <see cref="EnabledKey"/> asks for them; returns whether it did.</summary>
    public static bool AddDemosIfEnabled(this IServiceCollection services, IConfiguration configuration)
    {
        if (!configuration.GetValue(EnabledKey, defaultValue: false))
        {
            return false;
        }

        // Built here so a Demos:Protocol that means nothing stops the start, not the first page.
        services.AddSingleton(new DemoSubscriptions(configuration));
        services.AddSingleton<DemoTokens>();
        services.AddHostedService<HubFiguresPublisher>();
        DemoPublishLimit.Add(services, configuration);
        return true;
    }

    /// <summary>Maps <c>/demo/…</c> (nothing when the demos are off: then neither the pages nor these endpoints exist).</summary>
    public static IEndpointRouteBuilder MapDemos(this IEndpointRouteBuilder endpoints)
    {
        if (endpoints.ServiceProvider.GetService<DemoTokens>() is null)
        {
            return endpoints;
        }

        var demo = endpoints.MapGroup("/demo");
        demo.MapPost("/session", Session);
        demo.MapPost("/dashboard/updates", PublishTestUpdateAsync).RequireRateLimiting(DemoPublishLimit.PolicyName);
        demo.MapPost("/chat/{room}/join", JoinRoomAsync);
        demo.MapPost("/chat/{room}/messages", PostMessageAsync).RequireRateLimiting(DemoPublishLimit.PolicyName);
        return endpoints;
    }

    /// <summary><c>GET /</c> when the demos are off: the hub is up, here is where it listens, here is how to see the demos.</summary>
    public static IResult DemosOffPage(HttpContext context)
    {
        var headers = context.Response.Headers;
        headers.ContentSecurityPolicy = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
        headers.XContentTypeOptions = "nosniff";
        headers.CacheControl = "no-cache";
        return Results.Content(
            $"""
            <!doctype html>
            <html lang="en">
            <meta charset="utf-8">
            <title>Herald hub</title>
            <h1>Herald hub is running</h1>
            <p>The Mercure hub is at <code>{HeraldEndpointRouteBuilderExtensions.DefaultPath}</code>: publish with
            <code>POST</code>, subscribe with <code>GET</code> (an <code>EventSource</code>).</p>
            <p>The demo pages (overview, live dashboard, chat) are off. Start the hub with
            <code>herald serve --demo</code> to see them.</p>
            </html>

            """,
            "text/html; charset=utf-8");
    }

    /// <summary>Security headers for the demo pages: scripts and styles from this hub only, so text can never become code.</summary>
    public static void AddPageHeaders(StaticFileResponseContext file)
    {
        var headers = file.Context.Response.Headers;
        headers.ContentSecurityPolicy =
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
            + "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
        headers.XContentTypeOptions = "nosniff";
        headers["Referrer-Policy"] = "same-origin";
        headers.CacheControl = "no-cache";
    }

    /// <summary>
    /// <c>POST /demo/session</c>: what the front page and the dashboard need to subscribe — the hub's URL, the demo
    /// topics and the matchers each page subscribes with — and, in an HttpOnly cookie for the hub's path, a token
    /// that may subscribe to them (public updates of any topic flow to any valid token, as the Mercure protocol has
    /// it) and publish nothing.
    /// </summary>
    private static IResult Session(DemoTokens tokens, HttpContext context)
    {
        if (!tokens.CanIssue && !tokens.Anonymous)
        {
            return Error(StatusCodes.Status503ServiceUnavailable, CannotIssue);
        }

        var subscriptions = tokens.Subscriptions;
        tokens.SetCookie(context, subscriptions.Exactly(DemoTopics.Metrics, DemoTopics.TestUpdates, DemoTopics.Hello));
        NoStore(context);
        return Results.Json(
            new
            {
                hub = HeraldEndpointRouteBuilderExtensions.DefaultPath,
                lastEventIdParameter = subscriptions.LastEventIdParameter,
                topics = new { metrics = DemoTopics.Metrics, testUpdates = DemoTopics.TestUpdates, hello = DemoTopics.Hello },
                hello = subscriptions.Exactly(DemoTopics.Hello),
                dashboard = subscriptions.Exactly(DemoTopics.Metrics, DemoTopics.TestUpdates),
                presence = tokens.Presence,
                runtime = RuntimeInformation.FrameworkDescription,
                cores = Environment.ProcessorCount,
                maxTestUpdateLength = DemoText.MaxTestUpdateLength,
            },
            Json);
    }

    /// <summary><c>POST /demo/dashboard/updates</c> <c>{"text":…}</c>: publishes a test update on the fixed test topic.</summary>
    private static async Task<IResult> PublishTestUpdateAsync(HttpContext context, IHeraldPublisher publisher)
    {
        var (body, error) = await ReadJsonAsync<TestUpdateRequest>(context);
        if (error is not null)
        {
            return error;
        }

        var (text, reason) = DemoText.Message(body!.Text, DemoText.MaxTestUpdateLength, multiline: false);
        if (reason is not null)
        {
            return Error(StatusCodes.Status400BadRequest, reason);
        }

        var id = await publisher.PublishAsync(
            new Update
            {
                Topics = [DemoTopics.TestUpdates],
                Data = JsonSerializer.Serialize(new { text, sentAt = DateTimeOffset.UtcNow }, Json),
                EventType = "test",
            },
            context.RequestAborted);
        return Results.Json(new { id }, Json);
    }

    /// <summary>
    /// <c>POST /demo/chat/{room}/join</c> <c>{"nickname":…}</c>: the room's matchers, and in an HttpOnly cookie a token
    /// that may subscribe to the room and its presence (events and API) and nothing else, carrying the nickname as
    /// its presence payload.
    /// </summary>
    private static async Task<IResult> JoinRoomAsync(string room, HttpContext context, DemoTokens tokens)
    {
        if (DemoText.CheckRoom(room) is { } badRoom)
        {
            return Error(StatusCodes.Status400BadRequest, badRoom);
        }

        var (body, error) = await ReadJsonAsync<JoinRequest>(context);
        if (error is not null)
        {
            return error;
        }

        var (nickname, reason) = DemoText.Nickname(body!.Nickname);
        if (reason is not null)
        {
            return Error(StatusCodes.Status400BadRequest, reason);
        }

        if (!tokens.CanIssue && !tokens.Anonymous)
        {
            return Error(StatusCodes.Status503ServiceUnavailable, CannotIssue);
        }

        var topic = DemoTopics.ChatRoom(room);
        var payload = JsonSerializer.SerializeToElement(new { nickname }, Json);
        var subscriptions = tokens.Subscriptions;
        var issued = tokens.SetCookie(context, subscriptions.RoomGrants(room), payload);
        NoStore(context);
        return Results.Json(
            new
            {
                hub = HeraldEndpointRouteBuilderExtensions.DefaultPath,
                room,
                nickname,
                topic,
                lastEventIdParameter = subscriptions.LastEventIdParameter,
                messages = subscriptions.Exactly(topic),

                // Sent back with each message (Authorization: Bearer): the nickname is the one this join was given.
                sendToken = tokens.ChatPass(room, nickname!),

                // Presence needs both the hub option and a token (the subscriptions API and events are private).
                presence = tokens.Presence && issued,
                subscriptionEvents = new[] { subscriptions.RoomPresence(room) },
                subscriptions = subscriptions.RoomSubscriptions(room),
                maxLength = DemoText.MaxMessageLength,
            },
            Json);
    }

    /// <summary>
    /// <c>POST /demo/chat/{room}/messages</c> <c>{"nickname":…,"text":…}</c> with the join's <c>sendToken</c> as a
    /// bearer token: checks all three and publishes the message on the room under the nickname the pass carries.
    /// </summary>
    private static async Task<IResult> PostMessageAsync(string room, HttpContext context, IHeraldPublisher publisher, DemoTokens tokens)
    {
        if (DemoText.CheckRoom(room) is { } badRoom)
        {
            return Error(StatusCodes.Status400BadRequest, badRoom);
        }

        var authorization = context.Request.Headers.Authorization.ToString();
        var pass = authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? authorization["Bearer ".Length..].Trim() : null;
        if (tokens.NicknameOf(pass, room) is not { } joined)
        {
            return Error(StatusCodes.Status401Unauthorized, $"join the room first: send the sendToken of POST /demo/chat/{room}/join as 'Authorization: Bearer'");
        }

        var (body, error) = await ReadJsonAsync<ChatMessageRequest>(context);
        if (error is not null)
        {
            return error;
        }

        var (nickname, nicknameError) = body!.Nickname is null ? (joined, null) : DemoText.Nickname(body.Nickname);
        var (text, textError) = DemoText.Message(body.Text, DemoText.MaxMessageLength, multiline: true);
        if ((nicknameError ?? textError) is { } reason)
        {
            return Error(StatusCodes.Status400BadRequest, reason);
        }

        if (!string.Equals(nickname, joined, StringComparison.Ordinal))
        {
            return Error(StatusCodes.Status403Forbidden, "the nickname is not the one this room was joined with; join again to change it");
        }

        var id = await publisher.PublishAsync(
            new Update
            {
                Topics = [DemoTopics.ChatRoom(room)],
                Data = JsonSerializer.Serialize(new { nickname, text, sentAt = DateTimeOffset.UtcNow }, Json),
                EventType = "message",
            },
            context.RequestAborted);
        return Results.Json(new { id }, Json);
    }

    /// <summary>Reads a small JSON body. JSON only: a cross-site form cannot send it without a CORS preflight, which the demo refuses.</summary>
    private static async Task<(T? Body, IResult? Error)> ReadJsonAsync<T>(HttpContext context)
        where T : class
    {
        var request = context.Request;
        if (!request.HasJsonContentType())
        {
            return (null, Error(StatusCodes.Status415UnsupportedMediaType, "send a JSON body (Content-Type: application/json)"));
        }

        if (request.ContentLength > MaxBodyBytes)
        {
            return (null, Error(StatusCodes.Status413PayloadTooLarge, $"the body is larger than {MaxBodyBytes} bytes"));
        }

        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = MaxBodyBytes;
        }

        try
        {
            var body = await request.ReadFromJsonAsync<T>(Json, context.RequestAborted);
            return body is null ? (null, Error(StatusCodes.Status400BadRequest, "the body must be a JSON object")) : (body, null);
        }
        catch (JsonException)
        {
            return (null, Error(StatusCodes.Status400BadRequest, "the body is not valid JSON of the expected shape"));
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return (null, Error(StatusCodes.Status413PayloadTooLarge, $"the body is larger than {MaxBodyBytes} bytes"));
        }
    }

    private static IResult Error(int status, string reason) => Results.Text(reason + "\n", "text/plain; charset=utf-8", statusCode: status);

    private static void NoStore(HttpContext context) => context.Response.Headers.CacheControl = "no-store";

    private sealed record TestUpdateRequest(string? Text);

    private sealed record JoinRequest(string? Nickname);

    private sealed record ChatMessageRequest(string? Nickname, string? Text);
}
