namespace Herald;

/// <summary>
/// Settings of a Herald hub, bound from the configuration section <c>Herald</c> (appsettings.json,
/// <c>Herald__…</c> environment variables, and the flags of <c>herald serve</c>, which map onto the same keys).
/// </summary>
public sealed class HeraldOptions
{
    /// <summary>The configuration section the options bind from.</summary>
    public const string SectionName = "Herald";

    /// <summary>Shared key (HS256) or PEM public key (RS256) that verifies publishers' tokens.</summary>
    public string? PublisherJwtKey { get; set; }

    /// <summary>Shared key (HS256) or PEM public key (RS256) that verifies subscribers' tokens.</summary>
    public string? SubscriberJwtKey { get; set; }

    /// <summary>Algorithm of the publisher key: <c>HS256</c> (default), <c>RS256</c> or <c>ES256</c>.</summary>
    public string PublisherJwtAlgorithm { get; set; } = "HS256";

    /// <summary>Algorithm of the subscriber key: <c>HS256</c> (default), <c>RS256</c> or <c>ES256</c>.</summary>
    public string SubscriberJwtAlgorithm { get; set; } = "HS256";

    /// <summary>A JWKS URL whose keys verify publishers' tokens (instead of, or besides, the key).</summary>
    public string? PublisherJwksUrl { get; set; }

    /// <summary>A JWKS URL whose keys verify subscribers' tokens.</summary>
    public string? SubscriberJwksUrl { get; set; }

    /// <summary>Allow subscribers without a token; they receive public updates only.</summary>
    public bool Anonymous { get; set; }

    /// <summary>
    /// Origins allowed to subscribe from a browser (CORS). Origins listed by name may send credentials (cookies);
    /// <c>*</c> lets any other origin read public streams, without credentials. <c>null</c> is never allowed by name.
    /// </summary>
    public IList<string> CorsOrigins { get; } = [];

    /// <summary>Origins allowed to publish with the <c>mercureAuthorization</c> cookie; <c>*</c> allows any.</summary>
    public IList<string> PublishOrigins { get; } = [];

    /// <summary>Publish subscription events and serve the subscriptions API (presence).</summary>
    public bool Subscriptions { get; set; }

    /// <summary>A comment is sent on a stream that has been silent this long. Zero turns heartbeats off.</summary>
    public TimeSpan Heartbeat { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Streams are closed after this long, so clients reconnect (recycles long-lived connections). Zero: never.</summary>
    public TimeSpan WriteTimeout { get; set; } = TimeSpan.Zero;

    /// <summary>How many updates may wait for a slow subscriber before it is cut (it resumes with Last-Event-ID).</summary>
    public int SubscriberQueueCapacity { get; set; } = 4096;

    /// <summary>How many bytes may wait for a slow subscriber before it is cut.</summary>
    public long SubscriberQueueBytes { get; set; } = 16 * 1024 * 1024;

    /// <summary>Most <c>topic</c> selectors one subscription may name.</summary>
    public int MaxTopicsPerSubscription { get; set; } = 1000;

    /// <summary>Largest publish request body, in bytes (larger: 413).</summary>
    public long MaxPublishBytes { get; set; } = 1024 * 1024;

    /// <summary>Where <c>herald serve</c> keeps its SQLite history and generated key. <c>null</c>: history in memory only.</summary>
    public string? DataDir { get; set; }

    /// <summary>Where updates go: empty for the local store (SQLite in <see cref="DataDir"/>, else memory), or <c>redis://host:port</c>.</summary>
    public string? Transport { get; set; }

    /// <summary>How many updates history keeps (older ones are removed in the background). Zero: no limit.</summary>
    public long HistoryMaxCount { get; set; } = 1_000_000;

    /// <summary>How long history keeps an update. Zero: no limit.</summary>
    public TimeSpan HistoryMaxAge { get; set; } = TimeSpan.FromDays(7);

    /// <summary>Whether each SQLite commit is flushed to disk (fsync) before publish answers. Off by default: WAL with normal sync.</summary>
    public bool SyncEveryCommit { get; set; }

    /// <summary>
    /// Longest wait for a JWKS document (<see cref="PublisherJwksUrl"/>, <see cref="SubscriberJwksUrl"/>). Requests
    /// that need the keys wait for the fetch, so a hung identity provider costs them this long, then a 401.
    /// </summary>
    public TimeSpan JwksFetchTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Most connections Herald's listener (<c>UseHeraldListener</c>, as <c>herald serve</c> runs) keeps open at once;
    /// past it a new connection is answered 503 with <c>Retry-After</c> and closed. <c>null</c> (default): the
    /// process's open-file limit less the descriptors it already holds and headroom (Linux). A larger value is
    /// lowered to that (more connections than descriptors would kill the process), and Kestrel's
    /// <c>MaxConcurrentConnections</c> lowers it too when set.
    /// </summary>
    public int? MaxConnections { get; set; }

    /// <summary>
    /// Longest <c>topic</c> selector a subscription may name, in characters (longer: 400). URLs past 2,000
    /// characters are not served by common browsers and CDNs, so 2,048 refuses no real topic, and bounds what one
    /// template costs to compile, hold (measured: about 1.7 KB for a 56-character template, index included) and match.
    /// </summary>
    public int MaxSelectorLength { get; set; } = 2048;

    /// <summary>
    /// Most URI-template selectors (those with <c>{</c>) one subscription may name (more: 400). A publish runs only
    /// the templates whose literal start, end or inner literal the topic holds, but any template can be written to
    /// hold a literal every topic has (<c>{+a}://{+b}/…</c>), and each run costs about 0.6–1.1 µs on a 28-character topic
    /// (measured: 99,000 such templates, 60–110 ms a publish). So this, not a cap on templates the index cannot file
    /// (bypassed that way), bounds what one connection adds to every publish: 100 runs, about 0.1 ms. Apps name a handful.
    /// </summary>
    public int MaxTemplateSelectorsPerSubscription { get; set; } = 100;

    /// <summary>
    /// Most expressions (<c>{…}</c>) one URI-template selector may hold (more: 400). A match costs the topic's length
    /// times the template's live states, which grow with its expressions: a 2,048-character selector could hold about
    /// 500 (<c>{+a}{+b}…</c>) behind a literal start every topic shares and cost tens of microseconds on every publish.
    /// Real templates hold a handful; 16 keeps a run near a microsecond.
    /// </summary>
    public int MaxTemplateExpressions { get; set; } = 16;

    /// <summary>
    /// How many dedicated threads write to subscribers' connections (at least 1). Default: one per two cores, at least
    /// one. The hub starts them with it and stops them when it is disposed; each subscriber is served by one of them.
    /// </summary>
    public int WriterThreads { get; set; } = Dispatch.WriterPool.DefaultCount;

    /// <summary>
    /// The OAuth 2.0 resource identifier tokens must name in <c>aud</c> (Mercure 1.0), and the base URL patterns resolve
    /// against. <c>null</c>: derived from each request's scheme, host and the hub's path.
    /// </summary>
    public string? ResourceIdentifier { get; set; }

    /// <summary>
    /// Which protocol generations the hub speaks: both (the default; 0.x clients keep working) or 1.0 only. Configuration
    /// accepts <c>Compatible</c>/<c>0</c> and <c>V1</c>/<c>1</c>.
    /// </summary>
    public MercureProtocol Protocol { get; set; } = MercureProtocol.Compatible;

    /// <summary>
    /// The cookie a Mercure 1.0 token may be presented in. The <c>__Secure-</c> prefix makes browsers keep it to HTTPS;
    /// over plain HTTP (development) use a name without it, such as <c>mercure_access_token</c>.
    /// </summary>
    public string CookieName { get; set; } = "__Secure-mercure_access_token";

    /// <summary>
    /// The issuer identifier (<c>iss</c>) the keys above belong to (<c>herald serve --issuer</c>). Mercure 1.0 binds every
    /// key to its issuer: with this set, <see cref="PublisherJwtKey"/>, <see cref="SubscriberJwtKey"/>, their algorithms and
    /// <see cref="PublisherJwksUrl"/>/<see cref="SubscriberJwksUrl"/> also verify the 1.0 access tokens this issuer
    /// signs. Without it (and without <see cref="Issuers"/>) 1.0 tokens are refused; those keys keep verifying 0.x tokens
    /// when <see cref="Protocol"/> is <see cref="MercureProtocol.Compatible"/>.
    /// </summary>
    public string? Issuer { get; set; }

    /// <summary>
    /// More trusted issuers of Mercure 1.0 access tokens, each with its own keys (configuration <c>Herald:Issuers:0:Id</c>,
    /// <c>Herald:Issuers:0:Publisher:JwtKey</c>, <c>Herald:Issuers:0:Subscriber:JwksUrl</c>, …). A token is verified only
    /// with the keys of the issuer its <c>iss</c> names, never with another issuer's.
    /// </summary>
    public IList<TrustedIssuer> Issuers { get; } = [];

    /// <summary>
    /// Largest form body of a <c>QUERY</c> subscribe request, in bytes (larger: 413). The body exists for matcher lists
    /// too long for a URL; the matcher caps (<see cref="MaxTopicsPerSubscription"/>, <see cref="MaxSelectorLength"/>)
    /// still apply to what it holds.
    /// </summary>
    public long MaxSubscribeBodyBytes { get; set; } = 256 * 1024;

    /// <summary>
    /// A file holding the publisher key (what <see cref="PublisherJwtKey"/> would hold: an HS256 secret, a trailing line
    /// break ignored, or a PEM public key), read again whenever the file changes: tokens signed with the previous key are
    /// refused from then on, streams already open stay open. Keeps the key off command lines (<c>ps</c> shows them) and
    /// rotates it without a restart. A file that does not hold a key (half written, empty) is not loaded: the previous key
    /// stays. Setting both this and <see cref="PublisherJwtKey"/> is an error.
    /// </summary>
    public string? PublisherJwtKeyFile { get; set; }

    /// <summary>A file holding the subscriber key, as <see cref="PublisherJwtKeyFile"/> holds the publisher's.</summary>
    public string? SubscriberJwtKeyFile { get; set; }

    /// <summary>
    /// Most distinct URI templates, and apart from them most distinct URL patterns, that subscriptions may file under one
    /// anchor of the hub's matcher index, hub-wide: a template's literal start (cut to 64 characters), a URL pattern's fixed
    /// hostname and the text its pathname starts with (cut to 64). A publish runs only the matchers filed under anchors its
    /// topic holds, but anyone may subscribe, so without this any number of matchers could share an anchor a busy topic
    /// has and run on each of its publishes, under the dispatch lock. A subscription that would add one more distinct
    /// matcher to a full anchor is answered 503 with <c>Retry-After</c>; matchers already held (same text; for URL patterns,
    /// same hub URL) are shared and never refused, and matchers with their own fixed text (one per user:
    /// <c>https://example.com/users/42/{+rest}</c>) each have their own anchor. Each of these is one anchor hub-wide: the
    /// templates with no literal start (filed by their literal end or an inner literal, or tried on every publish) and the
    /// URL patterns with no fixed hostname, each family with four times the cap (probed once per topic, not once per
    /// anchor length); under the cap itself, the templates with more than four expressions (each run costs up to about
    /// 10 µs) and the hub URLs (Host headers) relative URL patterns are held for. One client may bring only
    /// <see cref="MaxMatchersPerAnchorPerClient"/> places of each. Token claims are not counted. Measured at
    /// the default, 8, the worst a client can build (every anchor of a 64-character topic full) costs a publish about 1 ms
    /// on a loaded machine (bench/Herald.Benchmarks, MatcherCapBenchmarks).
    /// </summary>
    public int MaxMatchersPerAnchor { get; set; } = DefaultMaxMatchersPerAnchor;

    /// <summary>Default of <see cref="MaxMatchersPerAnchor"/>.</summary>
    internal const int DefaultMaxMatchersPerAnchor = 8;

    /// <summary>
    /// How long a graceful shutdown (SIGTERM, host stop) takes to close the hub's streams. Each stream gets a
    /// <c>retry:</c> hint (<see cref="ShutdownReconnectSpread"/>) and the streams close spread over this window, so a
    /// fleet of clients does not reconnect all at once. Meanwhile new subscriptions get 503 with <c>Retry-After</c> and
    /// publishing goes on. Keep it well inside the host's shutdown timeout (30 s by default). Zero: every stream closes at once.
    /// </summary>
    public TimeSpan ShutdownDrain { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How widely the reconnects after a shutdown are spread: a stream's <c>retry:</c> hint asks its client to wait until
    /// the drain (<see cref="ShutdownDrain"/>) is over, a second more, and a random share of this, so clients come back
    /// (to the restarted hub or another node) spread over this window, and none meets the draining hub's 503.
    /// </summary>
    public TimeSpan ShutdownReconnectSpread { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How many of the newest updates the hub keeps in memory, with their encoded frames, to serve resumes from
    /// (<c>Last-Event-ID</c>) without reading the store. After a restart, or when a cluster node dies and its subscribers
    /// move to the others, thousands of them resume from a handful of recent ids at once: from here each only filters
    /// the shared frames by its selectors. Resumes from older ids read the store, and resumes reading the same range at
    /// the same time share one read. It is filled from the store's newest updates on the first resume, and never holds
    /// more than history keeps (<see cref="HistoryMaxCount"/>, <see cref="HistoryMaxAge"/>). Zero turns it off.
    /// </summary>
    public int ReplayCacheSize { get; set; } = 10_000;

    /// <summary>
    /// Most bytes the replay cache (<see cref="ReplayCacheSize"/>) holds: its frames, ids and topics and about 200 bytes
    /// of bookkeeping per update, the oldest dropped first. 10,000 updates of 200 bytes are counted as 6 MB (measured: 4.6 MB
    /// beside the ids and topics it shares with the updates). Zero turns it off.
    /// </summary>
    public long ReplayCacheBytes { get; set; } = 32 * 1024 * 1024;

    /// <summary>
    /// Most places one client may bring to one bucket that <see cref="MaxMatchersPerAnchor"/> caps (at least 1): each
    /// anchor, each shared family (which holds four times that cap: it is probed once per topic, not once per anchor
    /// length) and the hub URLs (Host headers) URL patterns are held for. So one client cannot fill a bucket and have
    /// everyone else's new matchers there refused; past its share it gets the same 503 with <c>Retry-After</c>. A client
    /// is the connection's remote address (<c>HttpContext.Connection.RemoteIpAddress</c>, which an app's forwarded-headers
    /// middleware sets behind a proxy): an IPv4 address, or an IPv6 /64; connections with no IP address (a unix socket)
    /// are one client together. A place is charged to the client that brought the matcher until its last holder leaves;
    /// a matcher someone already holds is shared, never refused and costs no share. Clients behind one NAT share one
    /// share: raise it there, or set it to <see cref="MaxMatchersPerAnchor"/> times four to turn it off.
    /// </summary>
    public int MaxMatchersPerAnchorPerClient { get; set; } = DefaultMaxMatchersPerAnchorPerClient;

    /// <summary>Default of <see cref="MaxMatchersPerAnchorPerClient"/>.</summary>
    internal const int DefaultMaxMatchersPerAnchorPerClient = 2;
}
