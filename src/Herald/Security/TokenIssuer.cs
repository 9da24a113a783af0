using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.IdentityModel.Tokens;

namespace Herald.Security;

/// <summary>
/// Issues HS256 tokens carrying the <c>mercure</c> claim, for <c>herald token</c>, the key printed by
/// <c>herald serve</c>, and tests.
/// </summary>
/// <remarks>
/// Signed by hand rather than with JsonWebTokenHandler because Mercure keys are often shorter than the
/// 256 bits Microsoft.IdentityModel insists on for HMAC, and the hub accepts them like the reference hub does.
/// </remarks>
internal static class TokenIssuer
{
    public static string Create(
        string key,
        IReadOnlyList<string>? publish,
        IReadOnlyList<string>? subscribe,
        TimeSpan? lifetime,
        JsonElement? payload = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        var header = Base64UrlEncoder.Encode("{\"alg\":\"HS256\",\"typ\":\"JWT\"}"u8.ToArray());
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
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
            json.WriteEndObject();
        }

        var body = Base64UrlEncoder.Encode(buffer.WrittenSpan.ToArray());
        var signingInput = header + "." + body;
        var signature = HMACSHA256.HashData(Encoding.UTF8.GetBytes(key), Encoding.ASCII.GetBytes(signingInput));
        return signingInput + "." + Base64UrlEncoder.Encode(signature);
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
