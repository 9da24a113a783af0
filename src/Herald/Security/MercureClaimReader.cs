using System.Text.Json;
using Herald.Topics;

namespace Herald.Security;

/// <summary>
/// Reads the Mercure 0.x <c>mercure</c> claim (<c>publish</c> and <c>subscribe</c> selector lists, <c>payload</c>) into
/// <see cref="MercureClaims"/>. A token without the claim is valid and grants no topic; a claim of the wrong shape
/// makes the token invalid, so a typo never widens or silently narrows what a token was meant to grant.
/// </summary>
internal static class MercureClaimReader
{
    /// <param name="root">The token's payload, a JSON object.</param>
    /// <param name="expires">The token's <c>exp</c>, carried into the claims so streams close when it passes.</param>
    public static TokenResult Read(JsonElement root, DateTimeOffset? expires)
    {
        if (!root.TryGetProperty("mercure", out var mercure) || mercure.ValueKind == JsonValueKind.Null)
        {
            return TokenResult.Valid(new MercureClaims([], [], null, expires));
        }

        if (mercure.ValueKind != JsonValueKind.Object
            || !TryReadStrings(mercure, "publish", out var publish)
            || !TryReadStrings(mercure, "subscribe", out var subscribe))
        {
            return TokenResult.Invalid("malformed mercure claim");
        }

        JsonElement? payload = mercure.TryGetProperty("payload", out var p) ? p.Clone() : null;
        return TokenResult.Valid(new MercureClaims(Selector.Topics(publish), Selector.Topics(subscribe), payload, expires));
    }

    private static bool TryReadStrings(JsonElement mercure, string name, out IReadOnlyList<string> values)
    {
        values = [];
        if (!mercure.TryGetProperty(name, out var array) || array.ValueKind == JsonValueKind.Null)
        {
            return true;
        }

        if (array.ValueKind != JsonValueKind.Array)
        {
            return false;
        }

        var list = new string[array.GetArrayLength()];
        var i = 0;
        foreach (var item in array.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String)
            {
                return false;
            }

            list[i++] = item.GetString()!;
        }

        values = list;
        return true;
    }
}
