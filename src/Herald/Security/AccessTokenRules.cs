using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;

namespace Herald.Security;

/// <summary>
/// The checks Mercure 1.0 ("Token Validation") adds to a JWS for it to be an RFC 9068 access token for this hub: the
/// <c>typ</c> header, and the <c>iss</c>, <c>exp</c> and <c>aud</c> claims. All of them read only the token, so they run
/// before the signature is checked; <c>iss</c> chooses the keys that check it.
/// </summary>
internal static class AccessTokenRules
{
    /// <summary>RFC 9068's media type, compared without its <c>application/</c> prefix and ignoring case (RFC 7515 §4.1.9).</summary>
    public const string AccessTokenType = "at+jwt";

    private const string MediaTypePrefix = "application/";

    /// <summary>
    /// Whether the <c>typ</c> header names a JWT access token, so a token issued for something else (an OpenID Connect ID
    /// Token signed by the same authorization server) is never taken for one.
    /// </summary>
    public static bool HasAccessTokenType(JsonWebToken jwt)
    {
        if (!jwt.TryGetHeaderValue<string>("typ", out var typ) || typ is null)
        {
            return false;
        }

        var type = typ.AsSpan();
        if (type.StartsWith(MediaTypePrefix, StringComparison.OrdinalIgnoreCase))
        {
            type = type[MediaTypePrefix.Length..];
        }

        return type.Equals(AccessTokenType, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>The <c>iss</c> claim when it is a non-empty string.</summary>
    public static string? Issuer(JsonElement root)
        => root.TryGetProperty("iss", out var iss) && iss.ValueKind == JsonValueKind.String && iss.GetString() is { Length: > 0 } value
            ? value
            : null;

    /// <summary>Whether <c>exp</c> is present as a number (RFC 9068 requires it; the lifetime itself is checked with the signature).</summary>
    public static bool HasExpiration(JsonElement root)
        => root.TryGetProperty("exp", out var exp) && exp.ValueKind == JsonValueKind.Number;

    /// <summary>
    /// Whether <c>aud</c> names <paramref name="resource"/>: equal to it as a string, or a member of it as an array of
    /// strings (RFC 7519 §4.1.3). Compared byte for byte: a trailing slash or another case names another resource.
    /// </summary>
    public static bool NamesAudience(JsonElement root, string resource)
    {
        if (!root.TryGetProperty("aud", out var aud))
        {
            return false;
        }

        if (aud.ValueKind == JsonValueKind.String)
        {
            return aud.ValueEquals(resource);
        }

        if (aud.ValueKind != JsonValueKind.Array)
        {
            return false;
        }

        foreach (var item in aud.EnumerateArray())
        {
            if (item.ValueKind == JsonValueKind.String && item.ValueEquals(resource))
            {
                return true;
            }
        }

        return false;
    }
}
