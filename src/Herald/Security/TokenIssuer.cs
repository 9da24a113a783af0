using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Herald.Topics;
using Microsoft.IdentityModel.Tokens;

namespace Herald.Security;

/// <summary>
/// Issues HS256 tokens for <c>herald token</c>, the token printed by <c>herald serve</c>, the demos and tests: Mercure 1.0
/// access tokens (<see cref="CreateAccessToken"/>) and Mercure 0.x tokens with the <c>mercure</c> claim (<see cref="Create"/>).
/// </summary>
/// <remarks>
/// Signed by hand rather than with JsonWebTokenHandler because Mercure keys are often shorter than the
/// 256 bits Microsoft.IdentityModel insists on for HMAC, and the hub accepts them like the reference hub does.
/// </remarks>
internal static class TokenIssuer
{
    /// <summary>A Mercure 0.x token: the <c>mercure</c> claim, <c>exp</c> only when a lifetime is given.</summary>
    public static string Create(
        string key,
        IReadOnlyList<string>? publish,
        IReadOnlyList<string>? subscribe,
        TimeSpan? lifetime,
        JsonElement? payload = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        return Sign(key, "JWT", json =>
        {
            if (lifetime is { } ttl)
            {
                json.WriteNumber("exp", DateTimeOffset.UtcNow.Add(ttl).ToUnixTimeSeconds());
            }

            json.WriteStartObject("mercure");
            WriteList(json, "publish", publish);
            WriteList(json, "subscribe", subscribe);
            if (payload is { } p)
            {
                json.WritePropertyName("payload");
                p.WriteTo(json);
            }

            json.WriteEndObject();
        });
    }

    /// <summary>
    /// A Mercure 1.0 access token (RFC 9068: <c>typ</c> <c>at+jwt</c>, <c>iss</c>, <c>aud</c>, <c>sub</c>, <c>client_id</c>,
    /// <c>iat</c>, <c>exp</c>, <c>jti</c>) whose <c>authorization_details</c> hold one Mercure entry for the publish grant
    /// and one for the subscribe grant (with the payload), each left out when it names no topic.
    /// </summary>
    public static string CreateAccessToken(string key, AccessTokenRequest request)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentNullException.ThrowIfNull(request);
        ArgumentException.ThrowIfNullOrEmpty(request.Issuer);
        if (request.Audience.Count == 0)
        {
            throw new ArgumentException("an access token needs an audience", nameof(request));
        }

        var now = request.IssuedAt ?? DateTimeOffset.UtcNow;
        return Sign(key, AccessTokenRules.AccessTokenType, json =>
        {
            json.WriteString("iss", request.Issuer);
            if (request.Audience.Count == 1)
            {
                json.WriteString("aud", request.Audience[0]);
            }
            else
            {
                WriteList(json, "aud", request.Audience);
            }

            json.WriteString("sub", request.Subject ?? "urn:uuid:" + Guid.NewGuid());
            json.WriteString("client_id", request.ClientId ?? request.Issuer);
            json.WriteNumber("iat", now.ToUnixTimeSeconds());
            json.WriteNumber("exp", now.Add(request.Lifetime).ToUnixTimeSeconds());
            json.WriteString("jti", "urn:uuid:" + Guid.NewGuid());
            json.WriteStartArray("authorization_details");
            WriteDetail(json, AuthorizationDetailsReader.PublishAction, request.Publish, payload: null);
            WriteDetail(json, AuthorizationDetailsReader.SubscribeAction, request.Subscribe, request.Payload);
            json.WriteEndArray();
        });
    }

    private static string Sign(string key, string type, Action<Utf8JsonWriter> writeClaims)
    {
        var header = Base64UrlEncoder.Encode(Encoding.UTF8.GetBytes($"{{\"alg\":\"HS256\",\"typ\":\"{type}\"}}"));
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            writeClaims(json);
            json.WriteEndObject();
        }

        var body = Base64UrlEncoder.Encode(buffer.WrittenSpan.ToArray());
        var signingInput = header + "." + body;
        var signature = HMACSHA256.HashData(Encoding.UTF8.GetBytes(key), Encoding.ASCII.GetBytes(signingInput));
        return signingInput + "." + Base64UrlEncoder.Encode(signature);
    }

    private static void WriteDetail(Utf8JsonWriter json, string action, IReadOnlyList<Selector> topics, JsonElement? payload)
    {
        if (topics.Count == 0)
        {
            return;
        }

        json.WriteStartObject();
        json.WriteString("type", AuthorizationDetailsReader.MercureType);
        json.WriteStartArray("actions");
        json.WriteStringValue(action);
        json.WriteEndArray();
        json.WriteStartArray("topics");
        foreach (var topic in topics)
        {
            json.WriteStartObject();
            json.WriteString("match", topic.Value);
            if (topic.Type == MatcherType.UrlPattern)
            {
                json.WriteString("match_type", "urlpattern");
            }

            json.WriteEndObject();
        }

        json.WriteEndArray();
        if (payload is { } p)
        {
            json.WritePropertyName("payload");
            p.WriteTo(json);
        }

        json.WriteEndObject();
    }

    private static void WriteList(Utf8JsonWriter json, string name, IReadOnlyList<string>? values)
    {
        if (values is null)
        {
            return;
        }

        json.WriteStartArray(name);
        foreach (var value in values)
        {
            json.WriteStringValue(value);
        }

        json.WriteEndArray();
    }
}

/// <summary>What a Mercure 1.0 access token minted by <see cref="TokenIssuer.CreateAccessToken"/> says.</summary>
/// <param name="Issuer">The <c>iss</c>: one of the hub's trusted issuers, the one whose key signs.</param>
/// <param name="Audience">The <c>aud</c>: the hub's resource identifier (several when the hub answers under several URLs).</param>
/// <param name="Lifetime">From now to <c>exp</c> (required in 1.0).</param>
/// <param name="Publish">Topics the publish grant names (<see cref="MatcherType.Exact"/> or <see cref="MatcherType.UrlPattern"/>).</param>
/// <param name="Subscribe">Topics the subscribe grant names.</param>
internal sealed record AccessTokenRequest(
    string Issuer,
    IReadOnlyList<string> Audience,
    TimeSpan Lifetime,
    IReadOnlyList<Selector> Publish,
    IReadOnlyList<Selector> Subscribe)
{
    /// <summary>The subscribe grant's <c>payload</c> (a JSON object), shown in subscription events.</summary>
    public JsonElement? Payload { get; init; }

    /// <summary>The <c>sub</c>; a new <c>urn:uuid:</c> when absent.</summary>
    public string? Subject { get; init; }

    /// <summary>The <c>client_id</c>; the issuer when absent (a self-issuing publisher is its own client).</summary>
    public string? ClientId { get; init; }

    /// <summary>The <c>iat</c>; now when absent (tests pin it).</summary>
    public DateTimeOffset? IssuedAt { get; init; }
}
