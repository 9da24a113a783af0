using System.Text;
using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Herald.Tests.Browser;

/// <summary>
/// Mercure 1.0 access tokens as an outside issuer mints them, with Microsoft.IdentityModel: RFC 9068 (<c>typ: at+jwt</c>,
/// <c>iss</c>, <c>aud</c>, <c>exp</c>, <c>sub</c>, <c>client_id</c>, <c>iat</c>, <c>jti</c>) and one Mercure
/// authorization detail.
/// </summary>
internal static class AccessTokens
{
    /// <summary>An HS256 token granting <paramref name="actions"/> on the <paramref name="topics"/> (match, match_type).</summary>
    public static string Hs256(string key, string issuer, string audience, string[] actions, params (string Match, string Type)[] topics)
    {
        var now = DateTimeOffset.UtcNow;
        var payload = JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["iss"] = issuer,
            ["aud"] = audience,
            ["sub"] = "urn:uuid:" + Guid.NewGuid(),
            ["client_id"] = "herald-tests",
            ["iat"] = now.ToUnixTimeSeconds(),
            ["exp"] = now.AddHours(1).ToUnixTimeSeconds(),
            ["jti"] = "urn:uuid:" + Guid.NewGuid(),
            ["authorization_details"] = new object[]
            {
                new Dictionary<string, object>
                {
                    ["type"] = "https://mercure.rocks/authorization-detail",
                    ["actions"] = actions,
                    ["topics"] = topics.Select(t => new Dictionary<string, string> { ["match"] = t.Match, ["match_type"] = t.Type }).ToArray(),
                },
            },
        });
        return new JsonWebTokenHandler().CreateToken(
            payload,
            new SigningCredentials(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(key)), SecurityAlgorithms.HmacSha256),
            new Dictionary<string, object> { [JwtHeaderParameterNames.Typ] = "at+jwt" });
    }
}
