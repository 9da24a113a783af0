using System.Text.Json;
using Herald.Security;
using Microsoft.Extensions.Options;

namespace Herald.Cli.Demos;

/// <summary>
/// Issues the demo pages their tokens: subscribe-only (no <c>publish</c> claim at all), limited to the demo's
/// topics, short-lived. Pages publish through the demo endpoints, which validate first, so no token that could
/// publish ever reaches a browser.
/// </summary>
internal sealed class DemoTokens(IOptions<HeraldOptions> options)
{
    /// <summary>
    /// Long enough for a session, short enough that a leaked one soon stops working. When it passes the hub
    /// closes the stream, the page's reconnect gets a 401, and the page asks for a fresh token.
    /// </summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromHours(1);

    /// <summary>
    /// Whether the hub's subscriber key can sign tokens here (an HS256 secret). With an RS256 public key or a
    /// JWKS URL the private key lives elsewhere: pages then subscribe without a token, which needs --anonymous.
    /// </summary>
    public bool CanIssue
        => options.Value is { SubscriberJwtKey.Length: > 0 } o
           && string.Equals(o.SubscriberJwtAlgorithm, "HS256", StringComparison.OrdinalIgnoreCase);

    /// <summary>Whether subscribers without a token get public updates.</summary>
    public bool Anonymous => options.Value.Anonymous;

    /// <summary>Whether presence (subscription events and the subscriptions API) is on.</summary>
    public bool Presence => options.Value.Subscriptions;

    /// <summary>A token that may subscribe to <paramref name="topics"/> and publish nothing, or <c>null</c> when <see cref="CanIssue"/> is false.</summary>
    public string? SubscribeOnly(IReadOnlyList<string> topics, JsonElement? payload = null)
        => CanIssue ? TokenIssuer.Create(options.Value.SubscriberJwtKey!, publish: null, subscribe: topics, Lifetime, payload) : null;
}
