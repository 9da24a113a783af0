using System.Text;

namespace Herald.Client;

/// <summary>
/// Builds a Mercure hub's subscription URL: Mercure 1.0 topic matchers (<c>match</c>, <c>match_urlpattern</c>), the
/// 0.x <c>topic</c> selector for hubs that still speak it, and the history position. Never a token: tokens travel in
/// the <c>Authorization</c> header (<see cref="EventSourceClientOptions.AccessToken"/>) or a cookie, not in URLs.
/// </summary>
/// <remarks>
/// Names and values are percent-encoded as <c>URLSearchParams</c> does (every character but the unreserved ones), so
/// <c>&amp;</c>, <c>=</c>, <c>+</c>, <c>;</c> and <c>%</c> in a topic reach the hub as written.
/// </remarks>
public sealed class MercureSubscribeUrl
{
    private readonly Uri _hub;
    private readonly List<KeyValuePair<string, string>> _parameters = [];
    private string? _lastEventId;
    private bool _v1;
    private bool _legacy;

    /// <summary>Starts a subscription URL on <paramref name="hubUrl"/>; a query it already has is kept first.</summary>
    /// <param name="hubUrl">The hub URL, usually ending in <c>/.well-known/mercure</c>.</param>
    public MercureSubscribeUrl(Uri hubUrl)
    {
        ArgumentNullException.ThrowIfNull(hubUrl);
        if (!hubUrl.IsAbsoluteUri)
        {
            throw new ArgumentException("The hub URL must be absolute.", nameof(hubUrl));
        }

        _hub = hubUrl;
    }

    /// <summary>
    /// Mercure 1.0: receive updates whose topic is exactly <paramref name="topic"/> (byte for byte), or every topic
    /// for <c>*</c>. Sent as <c>match</c>.
    /// </summary>
    public MercureSubscribeUrl Match(string topic) => AddV1("match", topic);

    /// <summary>
    /// Mercure 1.0: receive updates whose topic matches the WHATWG URL pattern <paramref name="pattern"/>, such as
    /// <c>https://example.com/books/:id</c> (a relative pattern resolves against the hub URL). Sent as
    /// <c>match_urlpattern</c>.
    /// </summary>
    public MercureSubscribeUrl MatchUrlPattern(string pattern) => AddV1("match_urlpattern", pattern);

    /// <summary>
    /// Mercure 0.x: a <c>topic</c> selector (a topic, a URI template such as <c>https://example.com/books/{id}</c>, or
    /// <c>*</c>), for hubs that speak 0.x (a Herald hub does unless it runs Mercure 1.0 only).
    /// </summary>
    public MercureSubscribeUrl Topic(string selector)
    {
        Add("topic", selector);
        _legacy = true;
        return this;
    }

    /// <summary>
    /// Replay the updates after <paramref name="id"/> first (<c>earliest</c>: all the hub keeps). Sent as
    /// <c>last_event_id</c>, or as 0.x's <c>lastEventID</c> when the URL holds only <c>topic</c> selectors. A client
    /// that can set headers may send <c>Last-Event-ID</c> instead (it wins), as <see cref="EventSourceClient"/> does
    /// with <see cref="EventSourceClientOptions.InitialLastEventId"/>.
    /// </summary>
    public MercureSubscribeUrl LastEventId(string id)
    {
        ArgumentException.ThrowIfNullOrEmpty(id);
        _lastEventId = id;
        return this;
    }

    /// <summary>The subscription URL.</summary>
    /// <exception cref="InvalidOperationException">No matcher or selector was added: the hub would refuse it.</exception>
    public Uri ToUri()
    {
        if (_parameters.Count == 0)
        {
            throw new InvalidOperationException("A subscription needs at least one matcher: call Match, MatchUrlPattern or Topic.");
        }

        var query = new StringBuilder(_hub.Query.TrimStart('?'));
        foreach (var (name, value) in _parameters)
        {
            Append(query, name, value);
        }

        if (_lastEventId is not null)
        {
            Append(query, _legacy && !_v1 ? "lastEventID" : "last_event_id", _lastEventId);
        }

        return new UriBuilder(_hub) { Query = query.ToString() }.Uri;
    }

    /// <inheritdoc cref="ToUri"/>
    public override string ToString() => ToUri().AbsoluteUri;

    private MercureSubscribeUrl AddV1(string name, string value)
    {
        Add(name, value);
        _v1 = true;
        return this;
    }

    private void Add(string name, string value)
    {
        ArgumentException.ThrowIfNullOrEmpty(value);
        _parameters.Add(new(name, value));
    }

    private static void Append(StringBuilder query, string name, string value)
        => query.Append(query.Length == 0 ? "" : "&").Append(name).Append('=').Append(Uri.EscapeDataString(value));
}
