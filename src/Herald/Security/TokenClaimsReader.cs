using System.Buffers.Text;
using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;

namespace Herald.Security;

/// <summary>
/// Reads a token's payload for the claims readers: the signed JSON itself, and the <c>exp</c> every format shares. The
/// rights are read by the reader of the token's format: the Mercure 0.x <c>mercure</c> claim
/// (<see cref="MercureClaimReader"/>) or Mercure 1.0 <c>authorization_details</c> (<see cref="AuthorizationDetailsReader"/>).
/// </summary>
/// <remarks>
/// Reads the signed payload itself rather than the library's view of it, so <c>payload</c> keeps its exact JSON
/// whatever the library would make of nested objects.
/// </remarks>
internal static class TokenClaimsReader
{
    /// <summary>The payload as a JSON object, or <c>null</c> when it is not one. The caller disposes it.</summary>
    public static JsonDocument? Parse(JsonWebToken jwt)
    {
        try
        {
            var document = JsonDocument.Parse(Base64Url.DecodeFromChars(jwt.EncodedPayload));
            if (document.RootElement.ValueKind == JsonValueKind.Object)
            {
                return document;
            }

            document.Dispose();
            return null;
        }
        catch (Exception ex) when (ex is FormatException or JsonException)
        {
            return null;
        }
    }

    /// <summary>The <c>exp</c> claim when it is a number; streams close when it passes.</summary>
    public static DateTimeOffset? Expires(JsonElement root)
    {
        if (root.TryGetProperty("exp", out var exp) && exp.ValueKind == JsonValueKind.Number && exp.TryGetDouble(out var seconds))
        {
            return DateTimeOffset.UnixEpoch.AddSeconds(Math.Clamp(Math.Floor(seconds), 0, 253_402_300_799));
        }

        return null;
    }
}
