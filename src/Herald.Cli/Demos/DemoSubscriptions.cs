using Herald.Mercure;

namespace Herald.Cli.Demos;

/// <summary>
/// How the demo pages subscribe, in the protocol generation the demos speak (<see cref="ProtocolKey"/>): the
/// matchers each stream asks for and the matchers their tokens grant. Decided here, on the server, so the pages
/// stay the same code for either generation: they turn the matchers into query parameters and nothing more.
/// </summary>
/// <remarks>
/// Mercure 1.0 (<c>1</c>): <c>match</c> and <c>match_urlpattern</c>, 1.0 tokens in <see cref="HeraldOptions.CookieName"/>,
/// presence under <c>subscriptions/exact/{match}/{subscriber}</c>. Mercure 0.x (<c>0</c>): <c>topic</c> selectors,
/// 0.x tokens in the <c>mercureAuthorization</c> cookie, presence under <c>subscriptions/{topic}/{subscriber}</c>.
/// Either way no token is ever in a URL.
/// </remarks>
internal sealed class DemoSubscriptions(IConfiguration configuration)
{
    /// <summary>Configuration key: which Mercure generation the demo pages speak, <c>1</c> (1.0) or <c>0</c> (0.x).</summary>
    public const string ProtocolKey = "Demos:Protocol";

    /// <summary>
    /// The generation the pages speak when <see cref="ProtocolKey"/> is not set: Mercure 1.0 (<c>match</c>, URL
    /// patterns, 1.0 tokens and presence), which every hub serves whatever <see cref="HeraldOptions.Protocol"/>.
    /// Its tokens need the issuer of the hub's keys (<c>Herald:Issuer</c>, which <c>--demo</c> defaults); <c>0</c>
    /// shows the 0.x clients that a <c>Compatible</c> hub still serves.
    /// </summary>
    public const string DefaultProtocol = "1";

    /// <summary>Whether the pages speak Mercure 1.0 (else 0.x).</summary>
    public bool V1 { get; } = (configuration[ProtocolKey] ?? DefaultProtocol).Trim() switch
    {
        "1" or "1.0" or "V1" or "v1" => true,
        "0" or "0.x" or "Legacy" or "legacy" => false,
        var other => throw new InvalidOperationException($"{ProtocolKey} is '{other}': use 1 (Mercure 1.0) or 0 (0.x)."),
    };

    /// <summary>The query parameter the pages send their history position in.</summary>
    public string LastEventIdParameter => V1 ? "last_event_id" : "lastEventID";

    /// <summary>Matchers for exactly these topics.</summary>
    public DemoMatcher[] Exactly(params string[] topics) => [.. topics.Select(t => new DemoMatcher(V1 ? DemoMatcher.Exact : DemoMatcher.Topic, t))];

    /// <summary>The matcher of a room's subscription events: one topic per subscriber of the room's topic.</summary>
    public DemoMatcher RoomPresence(string room) => V1
        ? new DemoMatcher(DemoMatcher.UrlPattern, RoomSubscriptions(room) + "/:subscriber")
        : new DemoMatcher(DemoMatcher.Topic, RoomSubscriptions(room) + "/{subscriber}");

    /// <summary>The subscriptions API resource of a room: who is subscribed to its topic right now.</summary>
    public string RoomSubscriptions(string room)
        => Presence.SubscriptionsPath + (V1 ? "/" + DemoMatcher.Exact + "/" : "/") + Uri.EscapeDataString(DemoTopics.ChatRoom(room));

    /// <summary>What a room's token grants <c>subscribe</c> on: its messages, its presence events and its subscriptions API.</summary>
    public DemoMatcher[] RoomGrants(string room) =>
    [
        .. Exactly(DemoTopics.ChatRoom(room)),

        // The API's URL, in the relative form the hub authorizes (compared byte for byte).
        new DemoMatcher(V1 ? DemoMatcher.Exact : DemoMatcher.Topic, RoomSubscriptions(room)),
        RoomPresence(room),
    ];
}

/// <summary>
/// One topic matcher: <see cref="Type"/> is <c>exact</c> or <c>urlpattern</c> (Mercure 1.0) or <c>topic</c> (a 0.x
/// selector), <see cref="Value"/> what it matches. The pages send it as <c>match</c>, <c>match_urlpattern</c> or <c>topic</c>.
/// </summary>
internal sealed record DemoMatcher(string Type, string Value)
{
    public const string Exact = "exact";
    public const string UrlPattern = "urlpattern";
    public const string Topic = "topic";
}
