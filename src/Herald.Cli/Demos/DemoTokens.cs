using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Herald.Mercure;
using Herald.Security;
using Herald.Topics;
using Microsoft.Extensions.Options;

namespace Herald.Cli.Demos;

/// <summary>
/// Issues the demo pages their tokens: subscribe-only (no <c>publish</c> right at all), limited to the demo's
/// topics, short-lived, and handed over in an HttpOnly cookie scoped to the hub's path, never in a URL or to the
/// page's script. Pages publish through the demo endpoints, which validate first, so no token that could publish
/// ever reaches a browser.
/// </summary>
internal sealed class DemoTokens(IOptions<HeraldOptions> options, MercureHub hub, DemoSubscriptions subscriptions)
{
    /// <summary>The cookie 0.x hubs and clients read a token from.</summary>
    public const string LegacyCookieName = "mercureAuthorization";

    /// <summary>Longer passes are not ours; refusing them first keeps the check's cost small whatever is sent.</summary>
    private const int MaxChatPassLength = 512;

    /// <summary>
    /// Signs chat passes. Its own random key, not the hub's: a pass must work on a hub whose key cannot sign (RS256,
    /// JWKS) and must never be a token the hub accepts. A restart makes new passes; the page then joins again.
    /// </summary>
    private readonly byte[] _chatPassKey = RandomNumberGenerator.GetBytes(32);

    /// <summary>
    /// Long enough for a session, short enough that a leaked one soon stops working. When it passes the hub
    /// closes the stream, the page's reconnect gets a 401, and the page asks for a fresh token.
    /// </summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromHours(1);

    /// <summary>
    /// Whether the hub's subscriber key can sign tokens here (an HS256 secret) that the hub accepts. With an RS256
    /// public key or a JWKS URL the private key lives elsewhere: pages then subscribe without a token, which needs
    /// --anonymous. A 1.0 token must also name the issuer the hub's keys belong to (<see cref="HeraldOptions.Issuer"/>):
    /// without one the hub refuses every 1.0 token, so minting one would only send the pages into a 401 loop.
    /// </summary>
    public bool CanIssue
        => options.Value is { SubscriberJwtKey.Length: > 0 } o
           && string.Equals(o.SubscriberJwtAlgorithm, "HS256", StringComparison.OrdinalIgnoreCase)

           // Microsoft.IdentityModel signs HS256 with 256-bit keys or longer only (RFC 7518 asks for as much).
           && (!Subscriptions.V1 || (Encoding.UTF8.GetByteCount(o.SubscriberJwtKey) >= 32 && !string.IsNullOrWhiteSpace(o.Issuer)));

    /// <summary>Configuration key of the trusted issuer the hub's keys belong to: the <c>iss</c> of the 1.0 tokens issued here.</summary>
    public const string IssuerKey = "Herald:Issuer";

    /// <summary>How the pages subscribe: the generation of the tokens issued here follows it.</summary>
    public DemoSubscriptions Subscriptions => subscriptions;

    /// <summary>Whether subscribers without a token get public updates.</summary>
    public bool Anonymous => options.Value.Anonymous;

    /// <summary>Whether presence (subscription events and the subscriptions API) is on.</summary>
    public bool Presence => options.Value.Subscriptions;

    /// <summary>
    /// Sets the cookie a page's <c>EventSource</c> (and its <c>fetch</c> of the subscriptions API) presents: a token
    /// that may subscribe to <paramref name="grants"/> and publish nothing. Mercure 1.0 grants go in a 1.0 access
    /// token under <see cref="HeraldOptions.CookieName"/>, 0.x selectors in a 0.x token under <c>mercureAuthorization</c>.
    /// Returns false, setting nothing, when <see cref="CanIssue"/> is false.
    /// </summary>
    public bool SetCookie(HttpContext context, IReadOnlyList<DemoMatcher> grants, JsonElement? payload = null)
    {
        if (!CanIssue)
        {
            return false;
        }

        var v1 = grants.Any(g => g.Type != DemoMatcher.Topic);
        var o = options.Value;
        var (name, token) = v1
            ? (o.CookieName, AccessToken(context.Request, grants, payload))
            : (LegacyCookieName, TokenIssuer.Create(o.SubscriberJwtKey!, publish: null, subscribe: [.. grants.Select(g => g.Value)], Lifetime, payload));
        context.Response.Cookies.Append(name, token, new CookieOptions
        {
            // Out of reach of the page's scripts, sent only to the hub, only from this site.
            HttpOnly = true,
            SameSite = SameSiteMode.Strict,
            Path = context.Request.PathBase.Add(hub.Path).Value,

            // A __Secure- name is refused by browsers without Secure; --demo uses a name without the prefix over HTTP.
            Secure = context.Request.IsHttps || name.StartsWith("__Secure-", StringComparison.Ordinal) || name.StartsWith("__Host-", StringComparison.Ordinal),
            MaxAge = Lifetime,
        });
        return true;
    }

    /// <summary>
    /// A Mercure 1.0 access token (RFC 9068: <c>typ: at+jwt</c>, <c>iss</c>, <c>aud</c> = the hub's resource identifier,
    /// <c>exp</c>, <c>sub</c>, <c>client_id</c>, <c>iat</c>, <c>jti</c>) whose one authorization detail grants
    /// <c>subscribe</c> on <paramref name="grants"/>.
    /// </summary>
    private string AccessToken(HttpRequest request, IReadOnlyList<DemoMatcher> grants, JsonElement? payload)
        // The issuer the hub's keys belong to (herald serve --issuer; --demo defaults it): the one the hub verifies this
        // key's tokens for (CanIssue made sure there is one).
        => TokenIssuer.CreateAccessToken(
            options.Value.SubscriberJwtKey!,
            new AccessTokenRequest(
                options.Value.Issuer!,
                [hub.UrlFor(request)],
                Lifetime,
                Publish: [],
                Subscribe: [.. grants.Select(g => g.Type == DemoMatcher.UrlPattern ? Selector.UrlPattern(g.Value) : Selector.Exact(g.Value))])
            {
                Payload = payload,
                ClientId = "herald-demo",
            });

    /// <summary>
    /// The pass a chat page sends with each message: it binds the nickname to the room it joined, so nobody can
    /// post as someone else. <c>base64url(room LF nickname LF expiry) "." base64url(HMAC-SHA256)</c>.
    /// </summary>
    public string ChatPass(string room, string nickname)
    {
        var expires = DateTimeOffset.UtcNow.Add(Lifetime).ToUnixTimeSeconds();
        var body = Base64Url.EncodeToString(Encoding.UTF8.GetBytes($"{room}\n{nickname}\n{expires}"));
        return body + "." + Base64Url.EncodeToString(HMACSHA256.HashData(_chatPassKey, Encoding.ASCII.GetBytes(body)));
    }

    /// <summary>The nickname a valid, unexpired pass for <paramref name="room"/> was issued to, or <c>null</c>.</summary>
    public string? NicknameOf(string? pass, string room)
    {
        if (pass is null || pass.Length > MaxChatPassLength || pass.Split('.') is not [var body, var signature])
        {
            return null;
        }

        Span<byte> actual = stackalloc byte[HMACSHA256.HashSizeInBytes];
        Span<byte> expected = stackalloc byte[HMACSHA256.HashSizeInBytes];
        if (Base64Url.GetEncodedLength(actual.Length) != signature.Length
            || !Base64Url.TryDecodeFromChars(signature, actual, out var written) || written != actual.Length
            || !Base64Url.IsValid(body))
        {
            return null;
        }

        HMACSHA256.HashData(_chatPassKey, Encoding.ASCII.GetBytes(body), expected);
        if (!CryptographicOperations.FixedTimeEquals(actual, expected))
        {
            return null;
        }

        var parts = Encoding.UTF8.GetString(Base64Url.DecodeFromChars(body)).Split('\n');
        return parts is [var passRoom, var nickname, var expiry]
               && passRoom == room
               && long.TryParse(expiry, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var seconds)
               && DateTimeOffset.UtcNow.ToUnixTimeSeconds() < seconds
            ? nickname
            : null;
    }
}
