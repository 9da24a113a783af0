namespace Herald.Client;

/// <summary>Where an <see cref="EventSourceClient"/> connects and how it reconnects.</summary>
public sealed record EventSourceClientOptions
{
    /// <summary>
    /// The stream's URL. For a Mercure hub: the hub URL with its topic matchers (<c>match</c>, <c>match_urlpattern</c>;
    /// 0.x <c>topic</c>), see <see cref="MercureSubscribeUrl"/>. Never a token: use <see cref="AccessToken"/>.
    /// </summary>
    public required Uri Url { get; init; }

    /// <summary>
    /// Extra request headers sent on every connection, such as <c>Authorization: Bearer …</c>. HttpClient drops
    /// <c>Authorization</c> when it follows a redirect; reconnections after one go straight to its target, with it.
    /// </summary>
    public IReadOnlyDictionary<string, string> Headers { get; init; } = new Dictionary<string, string>();

    /// <summary>
    /// The access token sent as <c>Authorization: Bearer</c> on every connection (a Mercure hub then delivers the
    /// private updates it grants); <c>null</c> sends none. Mercure 1.0 forbids tokens in URLs, which end up in logs
    /// and browser history. Wins over an <c>Authorization</c> entry in <see cref="Headers"/>.
    /// </summary>
    public string? AccessToken { get; init; }

    /// <summary>
    /// The id to resume after on the first connection (sent as <c>Last-Event-ID</c>); later connections send the last
    /// id the stream delivered. <c>null</c> or empty sends no header.
    /// </summary>
    public string? InitialLastEventId { get; init; }

    /// <summary>
    /// The wait before reconnecting until the server sets another with a <c>retry</c> field (the WHATWG "reconnection
    /// time"). Default 3 s.
    /// </summary>
    public TimeSpan ReconnectDelay { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>
    /// The ceiling of the exponential backoff applied while connection attempts keep failing. A <c>retry</c> from the
    /// server larger than this still wins. Default 60 s.
    /// </summary>
    public TimeSpan MaxReconnectDelay { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// How long a connection may stay silent (no bytes at all, heartbeats included) before it is treated as dropped
    /// and reconnected. <see cref="HttpClient.Timeout"/> does not cover reading a streamed body, so a connection that
    /// dies without a FIN would otherwise hang for ever. Also bounds the wait for response headers. The default, 90 s,
    /// leaves room for two heartbeats at a Mercure hub's default 40 s interval.
    /// <see cref="Timeout.InfiniteTimeSpan"/> disables it.
    /// </summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromSeconds(90);

    /// <summary>
    /// The client to send requests with; <c>null</c> creates (and disposes) one. An injected client is not disposed;
    /// its <see cref="HttpClient.Timeout"/> applies to the wait for response headers, so leave room for slow hubs.
    /// </summary>
    public HttpClient? HttpClient { get; init; }
}
