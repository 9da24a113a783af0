using System.Buffers.Text;
using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;

namespace Herald.Security;

/// <summary>
/// Reads what a validated token grants into the hub's rights (<see cref="MercureClaims"/>). The claims every format
/// shares (<c>exp</c>) are read here; the rights themselves by the reader of the token's format, today the Mercure 0.x
/// <c>mercure</c> claim (<see cref="MercureClaimReader"/>).
/// </summary>
/// <remarks>
/// Reads the signed payload itself rather than the library's view of it, so <c>payload</c> keeps its exact JSON
/// whatever the library would make of nested objects.
/// </remarks>
internal static class TokenClaimsReader
{
    public static TokenResult Read(JsonWebToken jwt)
    {
        byte[] payloadBytes;
        try
        {
            payloadBytes = Base64Url.DecodeFromChars(jwt.EncodedPayload);
        }
        catch (FormatException)
        {
            return TokenResult.Invalid("malformed token");
        }

        try
        {
            using var document = JsonDocument.Parse(payloadBytes);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return TokenResult.Invalid("malformed token");
            }

            DateTimeOffset? expires = null;
            if (root.TryGetProperty("exp", out var exp) && exp.ValueKind == JsonValueKind.Number && exp.TryGetDouble(out var seconds))
            {
                expires = DateTimeOffset.UnixEpoch.AddSeconds(Math.Clamp(Math.Floor(seconds), 0, 253_402_300_799));
            }

            return MercureClaimReader.Read(root, expires);
        }
        catch (JsonException)
        {
            return TokenResult.Invalid("malformed token");
        }
    }
}
