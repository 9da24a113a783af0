using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Herald.Security;

/// <summary>
/// Validates Mercure JWS tokens: signature with the configured key (HS256 shared secret or RS256 public key)
/// or with keys from a JWKS URL, expiry, and the algorithm (so <c>alg=none</c> and algorithm confusion fail).
/// </summary>
/// <remarks>
/// Issuer and audience are not checked: the Mercure 0.x protocol does not define them. A token without
/// <c>exp</c> is accepted, like the reference hub does. HMAC keys shorter than 256 bits are accepted too
/// (Microsoft.IdentityModel refuses them, Mercure deployments use them): HMAC pads short keys with zeros to
/// its block size, so padding the key ourselves gives the very same signature.
/// </remarks>
internal sealed class MercureTokenValidator
{
    private static readonly TimeSpan ClockSkew = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan JwksMinRefresh = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan JwksMaxAge = TimeSpan.FromMinutes(10);

    private readonly JsonWebTokenHandler _handler = new();
    private readonly Audience _publisher;
    private readonly Audience _subscriber;
    private readonly IHttpClientFactory? _httpClientFactory;

    public MercureTokenValidator(IOptions<HeraldOptions> options, IHttpClientFactory? httpClientFactory = null)
    {
        var o = options.Value;
        _httpClientFactory = httpClientFactory;
        _publisher = new Audience(CreateKey(o.PublisherJwtKey, o.PublisherJwtAlgorithm, "publisher"), o.PublisherJwtAlgorithm, o.PublisherJwksUrl);
        _subscriber = new Audience(CreateKey(o.SubscriberJwtKey, o.SubscriberJwtAlgorithm, "subscriber"), o.SubscriberJwtAlgorithm, o.SubscriberJwksUrl);
    }

    /// <summary>Whether a key or JWKS URL is configured for the audience.</summary>
    public bool IsConfigured(TokenAudience audience) => For(audience) is { } a && (a.Key is not null || a.JwksUrl is not null);

    public async ValueTask<TokenResult> ValidateAsync(string token, TokenAudience audience, CancellationToken cancellationToken)
    {
        var settings = For(audience);
        if (settings.Key is null && settings.JwksUrl is null)
        {
            return new(null, $"no {audience.ToString().ToLowerInvariant()} key is configured on the hub");
        }

        JsonWebToken parsed;
        try
        {
            parsed = new JsonWebToken(token);
        }
        catch (Exception e) when (e is ArgumentException or SecurityTokenMalformedException)
        {
            return new(null, "malformed token");
        }

        if (string.Equals(parsed.Alg, "none", StringComparison.OrdinalIgnoreCase) || string.IsNullOrEmpty(parsed.Alg))
        {
            return new(null, "unsigned tokens (alg none) are refused");
        }

        if (!string.Equals(parsed.Alg, settings.Algorithm, StringComparison.Ordinal))
        {
            return new(null, $"token algorithm {parsed.Alg} is not allowed (expected {settings.Algorithm})");
        }

        var keys = await settings.KeysAsync(this, refresh: false, cancellationToken).ConfigureAwait(false);
        var result = await _handler.ValidateTokenAsync(parsed, Parameters(settings.Algorithm, keys)).ConfigureAwait(false);
        if (!result.IsValid && settings.JwksUrl is not null && result.Exception is SecurityTokenSignatureKeyNotFoundException or SecurityTokenInvalidSignatureException)
        {
            // The issuer may have rotated its keys: fetch the JWKS again (rate-limited) and retry once.
            keys = await settings.KeysAsync(this, refresh: true, cancellationToken).ConfigureAwait(false);
            result = await _handler.ValidateTokenAsync(parsed, Parameters(settings.Algorithm, keys)).ConfigureAwait(false);
        }

        if (!result.IsValid)
        {
            return new(null, Reason(result.Exception));
        }

        return ReadClaims(parsed) is { } claims ? new(claims, null) : new(null, "the mercure claim must be a JSON object");
    }

    private Audience For(TokenAudience audience) => audience == TokenAudience.Publisher ? _publisher : _subscriber;

    private static TokenValidationParameters Parameters(string algorithm, IReadOnlyList<SecurityKey> keys) => new()
    {
        ValidateIssuer = false,
        ValidateAudience = false,
        ValidateLifetime = true,
        RequireExpirationTime = false,
        RequireSignedTokens = true,
        ValidateIssuerSigningKey = false,
        TryAllIssuerSigningKeys = true,
        ClockSkew = ClockSkew,
        ValidAlgorithms = [algorithm],
        IssuerSigningKeys = keys,
    };

    private static string Reason(Exception? e) => e switch
    {
        SecurityTokenExpiredException => "token expired",
        SecurityTokenNotYetValidException => "token not valid yet",
        SecurityTokenSignatureKeyNotFoundException or SecurityTokenInvalidSignatureException => "token signature invalid",
        SecurityTokenInvalidAlgorithmException => "token algorithm not allowed",
        SecurityTokenMalformedException => "malformed token",
        null => "token refused",
        _ => "token refused: " + e.Message.Split('\n')[0],
    };

    private static MercureClaims? ReadClaims(JsonWebToken token)
    {
        DateTimeOffset? expires = token.TryGetPayloadValue<long>("exp", out var exp) ? DateTimeOffset.FromUnixTimeSeconds(exp) : null;
        using var payload = JsonDocument.Parse(Base64UrlEncoder.DecodeBytes(token.EncodedPayload));
        if (!payload.RootElement.TryGetProperty("mercure", out var mercure))
        {
            return new MercureClaims(null, null, null, expires);
        }

        if (mercure.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        return new MercureClaims(
            Strings(mercure, "publish"),
            Strings(mercure, "subscribe"),
            mercure.TryGetProperty("payload", out var p) ? p.Clone() : null,
            expires);
    }

    private static string[]? Strings(JsonElement mercure, string name)
    {
        if (!mercure.TryGetProperty(name, out var value) || value.ValueKind != JsonValueKind.Array)
        {
            return null;
        }

        return value.EnumerateArray().Where(v => v.ValueKind == JsonValueKind.String).Select(v => v.GetString()!).ToArray();
    }

    private static SecurityKey? CreateKey(string? key, string algorithm, string audience)
    {
        if (string.IsNullOrEmpty(key))
        {
            return null;
        }

        switch (algorithm)
        {
            case SecurityAlgorithms.HmacSha256:
                var bytes = Encoding.UTF8.GetBytes(key);
                if (bytes.Length < 32)
                {
                    Array.Resize(ref bytes, 32);
                }

                return new SymmetricSecurityKey(bytes);
            case SecurityAlgorithms.RsaSha256:
                var rsa = RSA.Create();
                try
                {
                    rsa.ImportFromPem(key);
                }
                catch (ArgumentException e)
                {
                    throw new InvalidOperationException($"the {audience} JWT key is not a PEM public key, as RS256 needs: {e.Message}", e);
                }

                return new RsaSecurityKey(rsa);
            default:
                throw new InvalidOperationException($"the {audience} JWT algorithm must be HS256 or RS256, not {algorithm}");
        }
    }

    private sealed class Audience(SecurityKey? key, string algorithm, string? jwksUrl)
    {
        private readonly SemaphoreSlim _fetch = new(1, 1);
        private IReadOnlyList<SecurityKey> _jwks = [];
        private DateTimeOffset _fetchedAt = DateTimeOffset.MinValue;

        public SecurityKey? Key { get; } = key;

        public string Algorithm { get; } = algorithm;

        public string? JwksUrl { get; } = jwksUrl;

        public async ValueTask<IReadOnlyList<SecurityKey>> KeysAsync(MercureTokenValidator owner, bool refresh, CancellationToken cancellationToken)
        {
            if (JwksUrl is null)
            {
                return Key is null ? [] : [Key];
            }

            var age = DateTimeOffset.UtcNow - _fetchedAt;
            if (age > JwksMaxAge || (refresh && age > JwksMinRefresh))
            {
                await _fetch.WaitAsync(cancellationToken).ConfigureAwait(false);
                try
                {
                    age = DateTimeOffset.UtcNow - _fetchedAt;
                    if (age > JwksMaxAge || (refresh && age > JwksMinRefresh))
                    {
                        _jwks = await FetchAsync(owner, cancellationToken).ConfigureAwait(false);
                        _fetchedAt = DateTimeOffset.UtcNow;
                    }
                }
                catch (Exception e) when (e is HttpRequestException or JsonException or ArgumentException or TaskCanceledException)
                {
                    // Keep the keys we had; a retry happens after the minimum refresh interval.
                    _fetchedAt = DateTimeOffset.UtcNow - JwksMaxAge + JwksMinRefresh;
                }
                finally
                {
                    _fetch.Release();
                }
            }

            return Key is null ? _jwks : [Key, .. _jwks];
        }

        private async Task<IReadOnlyList<SecurityKey>> FetchAsync(MercureTokenValidator owner, CancellationToken cancellationToken)
        {
            var client = owner._httpClientFactory?.CreateClient("herald-jwks") ?? new HttpClient();
            var json = await client.GetStringAsync(JwksUrl, cancellationToken).ConfigureAwait(false);
            return new JsonWebKeySet(json).GetSigningKeys().ToList();
        }
    }
}
