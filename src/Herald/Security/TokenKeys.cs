using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.Tokens;

namespace Herald.Security;

/// <summary>
/// What verifies one set of tokens: a static key (HS256 shared secret, RS256 or ES256 PEM public key), the keys of a
/// JWKS URL, or both, and the <c>alg</c> values they accept. Each audience (publisher, subscriber) has one: in Mercure
/// 0.x for the whole hub, in 1.0 per trusted issuer.
/// </summary>
/// <remarks>
/// Which key verifies which token is decided here and nowhere else: the algorithm allow-list never comes from the
/// token, and JWKS keys (public by nature) are never HMAC keys.
/// </remarks>
internal sealed class TokenKeys
{
    /// <summary>
    /// Algorithms a JWKS key may sign with, whatever <c>*JwtAlgorithm</c> says (that setting describes the static
    /// key). Never HMAC: JWKS keys are public, so accepting HS* would be the classic algorithm-confusion hole.
    /// </summary>
    private static readonly string[] JwksAlgorithms =
    [
        SecurityAlgorithms.RsaSha256, SecurityAlgorithms.RsaSha384, SecurityAlgorithms.RsaSha512,
        SecurityAlgorithms.RsaSsaPssSha256, SecurityAlgorithms.RsaSsaPssSha384, SecurityAlgorithms.RsaSsaPssSha512,
        SecurityAlgorithms.EcdsaSha256, SecurityAlgorithms.EcdsaSha384, SecurityAlgorithms.EcdsaSha512,
    ];

    private TokenKeys(SecurityKey? staticKey, string? staticAlgorithm, JwksKeyCache? jwks)
    {
        StaticKey = staticKey;
        StaticAlgorithm = staticAlgorithm;
        Jwks = jwks;
        var algorithms = new List<string>();
        if (staticAlgorithm is not null)
        {
            algorithms.Add(staticAlgorithm);
        }

        if (jwks is not null)
        {
            algorithms.AddRange(JwksAlgorithms.Except(algorithms, StringComparer.Ordinal));
        }

        Algorithms = [.. algorithms];
    }

    public SecurityKey? StaticKey { get; }

    public string? StaticAlgorithm { get; }

    public JwksKeyCache? Jwks { get; }

    /// <summary>
    /// The only <c>alg</c> values accepted: the static key's configured one, plus the asymmetric ones when a
    /// JWKS URL is set. Anything else (<c>none</c>, HS256 against an RSA key…) is refused before any crypto.
    /// </summary>
    public string[] Algorithms { get; }

    /// <summary>Whether a key of the JWKS could verify a token signed with <paramref name="alg"/>.</summary>
    public bool IsJwksAlgorithm(string alg) => Jwks is not null && JwksAlgorithms.Contains(alg, StringComparer.Ordinal);

    /// <summary>
    /// Only the JWKS could verify a token signed with <paramref name="alg"/> (it is not the static key's), and the
    /// JWKS has never answered: a failure then means "keys unavailable", not a signature nothing checked.
    /// </summary>
    public bool OnlyUnfetchedJwksCouldVerify(string alg) =>
        Jwks is { HasKeys: false } && IsJwksAlgorithm(alg)
        && (StaticKey is null || !string.Equals(alg, StaticAlgorithm, StringComparison.Ordinal));

    /// <summary>The keys to try for a token: the static key, then the given JWKS keys.</summary>
    public List<SecurityKey> SigningKeys(IReadOnlyList<SecurityKey> jwksKeys)
    {
        var signingKeys = new List<SecurityKey>(jwksKeys.Count + 1);
        if (StaticKey is not null)
        {
            signingKeys.Add(StaticKey);
        }

        signingKeys.AddRange(jwksKeys);
        return signingKeys;
    }

    /// <summary>Whether <paramref name="kid"/> names one of <paramref name="keys"/>; a token without one names none.</summary>
    public static bool KnowsKeyId(IReadOnlyList<SecurityKey> keys, string? kid)
    {
        if (string.IsNullOrEmpty(kid))
        {
            // No kid: the library tried every key, so any of them could have been rotated out.
            return false;
        }

        for (var i = 0; i < keys.Count; i++)
        {
            if (string.Equals(keys[i].KeyId, kid, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// The keys the settings name, or <c>null</c> when they name none. Configuration errors (an unknown algorithm, a
    /// PEM that does not parse, a relative JWKS URL) throw, naming the setting, so a misconfigured hub fails at startup.
    /// </summary>
    public static TokenKeys? Create(
        string keySetting, string? key,
        string algorithmSetting, string? algorithm,
        string jwksSetting, string? jwksUrl,
        Func<HttpClient> httpClient, TimeProvider time, TimeSpan jwksFetchTimeout, ILogger logger)
    {
        var hasKey = !string.IsNullOrEmpty(key);
        var hasJwks = !string.IsNullOrWhiteSpace(jwksUrl);
        if (!hasKey && !hasJwks)
        {
            return null;
        }

        SecurityKey? staticKey = null;
        string? staticAlgorithm = null;
        if (hasKey)
        {
            (staticKey, staticAlgorithm) = StaticKeyOf(keySetting, key!, algorithmSetting, algorithm);
        }

        JwksKeyCache? jwks = null;
        if (hasJwks)
        {
            if (!Uri.TryCreate(jwksUrl!.Trim(), UriKind.Absolute, out var url)
                || (url.Scheme != Uri.UriSchemeHttps && url.Scheme != Uri.UriSchemeHttp))
            {
                throw new InvalidOperationException(
                    $"{HeraldOptions.SectionName}:{jwksSetting} must be an absolute http(s) URL, not '{jwksUrl}'.");
            }

            // Plain http is allowed: the operator chose the URL, and a JWKS on a private network or a
            // sidecar is common. Signatures, not the transport, are what the keys are trusted for.
            jwks = new JwksKeyCache(url, httpClient, time, jwksFetchTimeout, logger);
        }

        return new TokenKeys(staticKey, staticAlgorithm, jwks);
    }

    /// <summary>
    /// These keys with <paramref name="key"/> as the static key (a key file changed), the JWKS kept as it is: its fetched
    /// keys and refresh timing have nothing to do with the file. Throws as <see cref="Create"/> does when the key does not parse.
    /// </summary>
    public TokenKeys WithStaticKey(string keySetting, string key, string algorithmSetting, string? algorithm)
    {
        var (staticKey, staticAlgorithm) = StaticKeyOf(keySetting, key, algorithmSetting, algorithm);
        return new TokenKeys(staticKey, staticAlgorithm, Jwks);
    }

    private static (SecurityKey Key, string Algorithm) StaticKeyOf(string keySetting, string key, string algorithmSetting, string? algorithm)
    {
        var staticAlgorithm = (algorithm ?? SecurityAlgorithms.HmacSha256).Trim().ToUpperInvariant() switch
        {
            SecurityAlgorithms.HmacSha256 => SecurityAlgorithms.HmacSha256,
            SecurityAlgorithms.RsaSha256 => SecurityAlgorithms.RsaSha256,
            SecurityAlgorithms.EcdsaSha256 => SecurityAlgorithms.EcdsaSha256,
            _ => throw new InvalidOperationException(
                $"{HeraldOptions.SectionName}:{algorithmSetting} must be HS256, RS256 or ES256, not '{algorithm}'."),
        };
        SecurityKey staticKey = staticAlgorithm switch
        {
            SecurityAlgorithms.HmacSha256 => HmacKey(key),
            SecurityAlgorithms.RsaSha256 => RsaKey(key, keySetting),
            _ => EcKey(key, keySetting),
        };
        return (staticKey, staticAlgorithm);
    }

    /// <summary>
    /// The shared secret's UTF-8 bytes, as the reference hub uses them. Microsoft.IdentityModel refuses HMAC
    /// keys under 256 bits, and Mercure deployments commonly use shorter ones ("!ChangeMe!" is the documented
    /// example), so short keys are right-padded with zero bytes to 32. That changes no signature: HMAC
    /// (RFC 2104 §2) zero-pads any key shorter than the hash block (64 bytes for SHA-256) before use, so
    /// "k" and "k\0\0…" are the same HMAC key. A short key is as weak as it is either way; we only decline to
    /// break existing deployments over it.
    /// </summary>
    private static SymmetricSecurityKey HmacKey(string secret)
    {
        const int MinimumBytes = 256 / 8;
        var bytes = Encoding.UTF8.GetBytes(secret);
        if (bytes.Length < MinimumBytes)
        {
            Array.Resize(ref bytes, MinimumBytes);
        }

        return new SymmetricSecurityKey(bytes);
    }

    private static RsaSecurityKey RsaKey(string pem, string keySetting)
        => new(ImportPem(RSA.Create(), pem, keySetting, "a PEM RSA public key (-----BEGIN PUBLIC KEY-----) for RS256"));

    private static ECDsaSecurityKey EcKey(string pem, string keySetting)
    {
        var ec = ImportPem(ECDsa.Create(), pem, keySetting, "a PEM EC public key (-----BEGIN PUBLIC KEY-----) for ES256");

        // ES256 is ECDSA over P-256 (RFC 7518 §3.4): a key on another curve cannot verify an ES256 signature.
        if (ec.KeySize != 256)
        {
            ec.Dispose();
            throw new InvalidOperationException(
                $"{HeraldOptions.SectionName}:{keySetting} must be a P-256 key for ES256, not a {ec.KeySize}-bit curve.");
        }

        return new ECDsaSecurityKey(ec);
    }

    /// <summary>
    /// Loads a PEM public key into <paramref name="key"/>, which lives as long as the validator (the app): it is used on
    /// every validation. Configuration errors name the setting.
    /// </summary>
    private static T ImportPem<T>(T key, string pem, string keySetting, string expected)
        where T : AsymmetricAlgorithm
    {
        try
        {
            // Environment variables often carry a PEM on one line with literal "\n"; base64 has no
            // backslash, so turning them back into line breaks cannot change a real PEM.
            key.ImportFromPem(pem.Replace("\\n", "\n", StringComparison.Ordinal));
        }
        catch (Exception ex) when (ex is ArgumentException or CryptographicException)
        {
            // ArgumentException: no PEM in the text; CryptographicException: a PEM whose content is not a key (cut short).
            key.Dispose();
            throw new InvalidOperationException($"{HeraldOptions.SectionName}:{keySetting} must be {expected}: {ex.Message}", ex);
        }

        return key;
    }
}
