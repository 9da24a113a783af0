using System.Security.Cryptography;
using System.Text;
using Herald.Security;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using static Herald.Tests.Security.TestTokens;

namespace Herald.Tests.Security;

/// <summary>Mints Mercure 1.0 access tokens for the tests (through Microsoft.IdentityModel), and the hubs that trust them.</summary>
internal static class AccessTokens
{
    public const string Issuer = "https://issuer.example.com";
    public const string OtherIssuer = "https://other-issuer.example.com";
    public const string OtherIssuerKey = "other-issuer-secret-other-issuer-secret-0123";

    public const string DetailType = "https://mercure.rocks/authorization-detail";

    /// <summary>One Mercure authorization detail; <paramref name="topics"/> and <paramref name="actions"/> are JSON arrays as written.</summary>
    public static string Detail(string actions, string topics, string? payload = null)
        => "{\"type\":\"" + DetailType + "\",\"actions\":" + actions + ",\"topics\":" + topics + (payload is null ? string.Empty : ",\"payload\":" + payload) + "}";

    /// <summary>A publish-and-subscribe grant on every topic.</summary>
    public static string AllDetails => "[" + Detail("""["publish","subscribe"]""", """[{"match":"*"}]""") + "]";

    /// <summary>
    /// An RFC 9068 claims set; each claim is left out when passed <c>null</c>. <paramref name="aud"/> is JSON (a string or
    /// an array), <paramref name="details"/> the <c>authorization_details</c> JSON.
    /// </summary>
    public static string Claims(
        string? details = "ALL",
        string? iss = Issuer,
        string? aud = "\"" + HubUrl + "\"",
        long? exp = 0,
        long? nbf = null,
        string? mercure = null)
    {
        var members = new List<string> { "\"sub\":\"urn:uuid:5b1c0b7e-4d4e-4a53-9d0a-0d3c5e2f8a11\"", "\"client_id\":\"test\"", "\"iat\":" + Now, "\"jti\":\"" + Guid.NewGuid() + "\"" };
        if (iss is not null)
        {
            members.Add("\"iss\":\"" + iss + "\"");
        }

        if (aud is not null)
        {
            members.Add("\"aud\":" + aud);
        }

        if (exp is not null)
        {
            members.Add("\"exp\":" + (exp == 0 ? Now + 3600 : exp.Value));
        }

        if (nbf is not null)
        {
            members.Add("\"nbf\":" + nbf.Value);
        }

        if (details is not null)
        {
            members.Add("\"authorization_details\":" + (details == "ALL" ? AllDetails : details));
        }

        if (mercure is not null)
        {
            members.Add("\"mercure\":" + mercure);
        }

        return "{" + string.Join(',', members) + "}";
    }

    private static Dictionary<string, object> Header(string? typ) => typ is null ? [] : new() { ["typ"] = typ };

    public static string Hs256(string secret, string claims, string? typ = "at+jwt") =>
        new JsonWebTokenHandler().CreateToken(
            claims,
            new SigningCredentials(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(secret)), SecurityAlgorithms.HmacSha256),
            Header(typ));

    public static string Rs256(RSA key, string claims, string? typ = "at+jwt", IDictionary<string, object>? header = null, string? kid = null)
    {
        var all = Header(typ);
        foreach (var (name, value) in header ?? new Dictionary<string, object>())
        {
            all[name] = value;
        }

        return new JsonWebTokenHandler().CreateToken(claims, new SigningCredentials(new RsaSecurityKey(key) { KeyId = kid }, SecurityAlgorithms.RsaSha256), all);
    }

    public static string Es256(ECDsa key, string claims, string? typ = "at+jwt") =>
        new JsonWebTokenHandler().CreateToken(
            claims,
            new SigningCredentials(new ECDsaSecurityKey(key), SecurityAlgorithms.EcdsaSha256),
            Header(typ));

    /// <summary>A publisher token of <see cref="Issuer"/> for <see cref="TestTokens.HubUrl"/>, signed with the publisher key.</summary>
    public static string Publisher(string? details = "ALL") => Hs256(PublisherKey, Claims(details));

    /// <summary>A hub whose hub-wide keys belong to <see cref="Issuer"/> (<c>--issuer</c>), in <paramref name="protocol"/>.</summary>
    public static MercureTokenValidator IssuerValidator(MercureProtocol protocol = MercureProtocol.Compatible, Action<HeraldOptions>? more = null)
        => Validator(o =>
        {
            o.Issuer = Issuer;
            o.PublisherJwtKey = PublisherKey;
            o.SubscriberJwtKey = SubscriberKey;
            o.Protocol = protocol;
            more?.Invoke(o);
        });

    public static string DecodedHeader(string token) => Encoding.UTF8.GetString(Base64UrlEncoder.DecodeBytes(token.Split('.')[0]));
}
