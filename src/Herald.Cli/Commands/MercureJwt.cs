using System.Buffers;
using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Herald.Cli.Commands;

/// <summary>Mints the HS256 JWTs a Mercure hub accepts: a <c>mercure</c> claim with publish/subscribe selectors.</summary>
internal static class MercureJwt
{
    // HS256 keys shorter than the hash are legal (RFC 7518 only recommends 256 bits) and Mercure hubs accept them,
    // but the IdentityModel library refuses to sign with them.
    private const int LibraryMinimumKeyBytes = 32;

    /// <summary>The claims as JSON: <c>{"mercure":{"publish":[…],"subscribe":[…],"payload":…},"iat":…,"exp":…}</c>.</summary>
    public static string Claims(
        IReadOnlyList<string> publish,
        IReadOnlyList<string> subscribe,
        JsonElement? payload,
        DateTimeOffset now,
        TimeSpan? lifetime)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteStartObject("mercure");
            writer.WriteStartArray("publish");
            foreach (var selector in publish)
            {
                writer.WriteStringValue(selector);
            }

            writer.WriteEndArray();
            writer.WriteStartArray("subscribe");
            foreach (var selector in subscribe)
            {
                writer.WriteStringValue(selector);
            }

            writer.WriteEndArray();
            if (payload is { } value)
            {
                writer.WritePropertyName("payload");
                value.WriteTo(writer);
            }

            writer.WriteEndObject();
            writer.WriteNumber("iat", now.ToUnixTimeSeconds());
            if (lifetime is { } ttl)
            {
                writer.WriteNumber("exp", (now + ttl).ToUnixTimeSeconds());
            }

            writer.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>Signs <paramref name="claims"/> (a JSON object) with HMAC-SHA256 under <paramref name="key"/>.</summary>
    public static string Sign(string claims, byte[] key)
    {
        ArgumentOutOfRangeException.ThrowIfZero(key.Length, nameof(key));
        if (key.Length >= LibraryMinimumKeyBytes)
        {
            var credentials = new SigningCredentials(new SymmetricSecurityKey(key), SecurityAlgorithms.HmacSha256);
            return new JsonWebTokenHandler().CreateToken(claims, credentials);
        }

        return SignWithoutLibrary(claims, key);
    }

    /// <summary>The same JWS the library makes (header <c>{"alg":"HS256","typ":"JWT"}</c>), for keys it refuses.</summary>
    internal static string SignWithoutLibrary(string claims, byte[] key)
    {
        var signingInput = Base64Url.EncodeToString("""{"alg":"HS256","typ":"JWT"}"""u8) + "."
            + Base64Url.EncodeToString(System.Text.Encoding.UTF8.GetBytes(claims));
        var signature = HMACSHA256.HashData(key, System.Text.Encoding.ASCII.GetBytes(signingInput));
        return signingInput + "." + Base64Url.EncodeToString(signature);
    }
}
