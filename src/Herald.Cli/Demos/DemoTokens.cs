using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
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
