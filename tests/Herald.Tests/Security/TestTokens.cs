using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using Herald.Security;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Herald.Tests.Security;

/// <summary>Mints tokens for the security tests: through the library where it can, by hand where it refuses.</summary>
internal static class TestTokens
{
    /// <summary>A 256-bit secret, long enough for the library to sign with.</summary>
    public const string PublisherKey = "publisher-secret-publisher-secret-0123456789";
    public const string SubscriberKey = "subscriber-secret-subscriber-secret-987654321";

    /// <summary>The hub the tests' tokens are validated for: the <c>aud</c> a 1.0 token must name.</summary>
    public const string HubUrl = "https://hub.example.com/.well-known/mercure";

    public static readonly TimeSpan TestTimeout = TimeSpan.FromSeconds(30);

    public static long Now => DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    /// <summary>A payload with the given <c>mercure</c> claim JSON and <c>exp</c>, both optional.</summary>
    public static string Payload(string? mercureJson = null, long? exp = null, long? nbf = null)
    {
        var members = new List<string> { "\"sub\":\"test\"" };
        if (mercureJson is not null)
        {
            members.Add("\"mercure\":" + mercureJson);
        }

        if (exp is not null)
        {
            members.Add("\"exp\":" + exp.Value);
        }

        if (nbf is not null)
        {
            members.Add("\"nbf\":" + nbf.Value);
        }

        return "{" + string.Join(',', members) + "}";
    }

    public static string Hs256(string secret, string payload) =>
        new JsonWebTokenHandler().CreateToken(
            payload,
            new SigningCredentials(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(secret)), SecurityAlgorithms.HmacSha256));

    public static string Rs256(RSA key, string payload, string? kid = null) =>
        new JsonWebTokenHandler().CreateToken(
            payload,
            new SigningCredentials(new RsaSecurityKey(key) { KeyId = kid }, SecurityAlgorithms.RsaSha256));

    public static string Es256(ECDsa key, string payload, string? kid = null) =>
        new JsonWebTokenHandler().CreateToken(
            payload,
            new SigningCredentials(new ECDsaSecurityKey(key) { KeyId = kid }, SecurityAlgorithms.EcdsaSha256));

    /// <summary>
    /// A JWS put together by hand with any header and any MAC, for what the library will not mint: alg=none,
    /// keys under 256 bits, HMAC keyed with an RSA public key.
    /// </summary>
    public static string Handmade(string headerJson, string payload, Func<byte[], byte[]>? sign)
    {
        var signingInput = Encode(headerJson) + "." + Encode(payload);
        var signature = sign is null ? string.Empty : Base64Url.EncodeToString(sign(Encoding.ASCII.GetBytes(signingInput)));
        return signingInput + "." + signature;
    }

    public static string HandmadeHmac(string alg, byte[] key, string payload) =>
        Handmade(
            "{\"alg\":\"" + alg + "\",\"typ\":\"JWT\"}",
            payload,
            input => alg switch
            {
                "HS256" => HMACSHA256.HashData(key, input),
                "HS384" => HMACSHA384.HashData(key, input),
                "HS512" => HMACSHA512.HashData(key, input),
                _ => throw new ArgumentOutOfRangeException(nameof(alg)),
            });

    public static string Encode(string json) => Base64Url.EncodeToString(Encoding.UTF8.GetBytes(json));

    public static MercureTokenValidator Validator(Action<HeraldOptions> configure, TimeProvider? time = null)
    {
        var options = new HeraldOptions();
        configure(options);
        return new MercureTokenValidator(Options.Create(options), null, null, time ?? TimeProvider.System);
    }

    public static async Task<TokenResult> ValidateAsync(
        this MercureTokenValidator validator,
        string token,
        TokenAudience audience = TokenAudience.Publisher,
        string hubUrl = HubUrl) =>
        await validator.ValidateAsync(token, audience, hubUrl, CancellationToken.None).AsTask().WaitAsync(TestTimeout);
}
