using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Herald.Security;

/// <summary>
/// Validates Mercure JWS tokens the way the Mercure 0.x hub does: a signature by the audience's key (HS256
/// shared secret, RS256 PEM public key, and/or the keys of a JWKS URL), <c>exp</c> honoured when present, issuer
/// and audience not checked, and the <c>mercure</c> claim read into <see cref="MercureClaims"/>.
/// </summary>
/// <remarks>
/// Configuration errors (an unknown algorithm, a PEM that does not parse, a relative JWKS URL) throw from the
/// constructor, so a misconfigured hub fails at startup rather than answering 401 to everyone.
/// </remarks>
internal sealed class MercureTokenValidator
{
    /// <summary>Name of the <see cref="IHttpClientFactory"/> client used to fetch JWKS documents.</summary>
    public const string JwksHttpClientName = "Herald.Jwks";

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

    /// <summary>Clients and hub clocks drift; five minutes (the library default) would keep expired tokens alive far too long.</summary>
    private static readonly TimeSpan ClockSkew = TimeSpan.FromSeconds(5);

    /// <summary>Used when the host registers no <see cref="IHttpClientFactory"/>; shared, never disposed, DNS refreshed.</summary>
    private static readonly Lazy<HttpClient> FallbackHttpClient = new(static () => new HttpClient(
        new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) }));

    /// <summary>Past this many cached tokens the cache starts over, so a flood of distinct tokens cannot grow memory.</summary>
    private const int MaxCachedTokens = 10_000;

    /// <summary>How long a validated token is trusted without checking it again, so a key rotated out of a JWKS stops working soon.</summary>
    private static readonly TimeSpan CachedTokenLifetime = TimeSpan.FromMinutes(1);

    private readonly JsonWebTokenHandler _handler = new();
    private readonly AudienceKeys? _publisher;
    private readonly AudienceKeys? _subscriber;
    private readonly TimeProvider _time;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<(string Token, TokenAudience Audience), CachedToken> _valid = new();

    /// <summary>
    /// The token each audience validated last. Publishers resend one token with every request, so this is nearly
    /// always a hit, found by comparing the strings instead of hashing the whole token for the dictionary.
    /// </summary>
    private CachedToken? _lastPublisher;

    private CachedToken? _lastSubscriber;

    /// <param name="options">The hub's settings: keys, JWKS URLs and the JWKS fetch timeout.</param>
    /// <param name="httpClientFactory">Makes the client that fetches JWKS documents; a shared one when absent.</param>
    /// <param name="logger">Where JWKS fetch failures are reported.</param>
    /// <param name="time">
    /// The clock for <c>exp</c>/<c>nbf</c>, the token cache and the JWKS intervals: one clock for all of them, so a
    /// cached token can never outlive what a fresh validation would allow. The app's <see cref="TimeProvider"/>.
    /// </param>
    public MercureTokenValidator(
        IOptions<HeraldOptions> options,
        IHttpClientFactory? httpClientFactory = null,
        ILogger<MercureTokenValidator>? logger = null,
        TimeProvider? time = null)
        : this(options, httpClientFactory, (ILogger?)logger, time ?? TimeProvider.System)
    {
    }

    /// <summary>Tests pass a clock they move, to cross the JWKS refresh intervals without waiting.</summary>
    internal MercureTokenValidator(
        IOptions<HeraldOptions> options,
        IHttpClientFactory? httpClientFactory,
        ILogger? logger,
        TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(options);
        _time = time;
        var o = options.Value;
        Func<HttpClient> httpClient = httpClientFactory is null
            ? static () => FallbackHttpClient.Value
            : () => httpClientFactory.CreateClient(JwksHttpClientName);
        logger ??= NullLogger.Instance;

        _publisher = AudienceKeys.Create(
            nameof(HeraldOptions.PublisherJwtKey), o.PublisherJwtKey,
            nameof(HeraldOptions.PublisherJwtAlgorithm), o.PublisherJwtAlgorithm,
            nameof(HeraldOptions.PublisherJwksUrl), o.PublisherJwksUrl,
            httpClient, time, o.JwksFetchTimeout, logger);
        _subscriber = AudienceKeys.Create(
            nameof(HeraldOptions.SubscriberJwtKey), o.SubscriberJwtKey,
            nameof(HeraldOptions.SubscriberJwtAlgorithm), o.SubscriberJwtAlgorithm,
            nameof(HeraldOptions.SubscriberJwksUrl), o.SubscriberJwksUrl,
            httpClient, time, o.JwksFetchTimeout, logger);
    }

    /// <summary>Whether a key or a JWKS URL is set for <paramref name="audience"/>.</summary>
    public bool IsConfigured(TokenAudience audience) => KeysFor(audience) is not null;

    /// <summary>
    /// Validates <paramref name="token"/> for <paramref name="audience"/>. Never throws for a bad token: every
    /// failure is a <see cref="TokenResult"/> with a one-line reason. Only a JWKS fetch awaits anything.
    /// </summary>
    /// <remarks>
    /// Valid tokens are cached until they expire: a publisher sends the same token with every request, and checking
    /// a signature costs tens of microseconds, more than the rest of a publish. Only valid results are cached,
    /// keyed by the whole token string, for at most a minute (or until the token expires, if sooner).
    /// </remarks>
    public ValueTask<TokenResult> ValidateAsync(string token, TokenAudience audience, CancellationToken cancellationToken)
    {
        if (token is not null)
        {
            var last = audience switch
            {
                TokenAudience.Publisher => Volatile.Read(ref _lastPublisher),
                TokenAudience.Subscriber => Volatile.Read(ref _lastSubscriber),
                _ => null,
            };
            var cached = last is not null && string.Equals(last.Token, token, StringComparison.Ordinal)
                ? last
                : _valid.TryGetValue((token, audience), out var found) ? found : null;
            if (cached is not null)
            {
                // The same rule as a fresh validation (exp + skew, on the same clock): a cached token is refused
                // exactly when validating it again would refuse it.
                var now = _time.GetUtcNow();
                if (now < cached.CachedUntil && (cached.Claims.Expires is not { } expires || now <= expires + ClockSkew))
                {
                    if (!ReferenceEquals(cached, last))
                    {
                        Remember(audience, cached);
                    }

                    return ValueTask.FromResult(TokenResult.Valid(cached.Claims));
                }

                _valid.TryRemove((token, audience), out _);
                Forget(audience, cached);
            }
        }

        return ValidateAndCacheAsync(token!, audience, cancellationToken);
    }

    private async ValueTask<TokenResult> ValidateAndCacheAsync(string token, TokenAudience audience, CancellationToken cancellationToken)
    {
        var result = await ValidateUncachedAsync(token, audience, cancellationToken).ConfigureAwait(false);
        if (result.Claims is { } claims)
        {
            if (_valid.Count >= MaxCachedTokens)
            {
                _valid.Clear();
            }

            var cached = new CachedToken(token, claims, _time.GetUtcNow() + CachedTokenLifetime);
            _valid[(token, audience)] = cached;
            Remember(audience, cached);
        }

        return result;
    }

    private void Forget(TokenAudience audience, CachedToken stale)
    {
        if (audience == TokenAudience.Publisher)
        {
            Interlocked.CompareExchange(ref _lastPublisher, null, stale);
        }
        else if (audience == TokenAudience.Subscriber)
        {
            Interlocked.CompareExchange(ref _lastSubscriber, null, stale);
        }
    }

    private void Remember(TokenAudience audience, CachedToken cached)
    {
        if (audience == TokenAudience.Publisher)
        {
            Volatile.Write(ref _lastPublisher, cached);
        }
        else if (audience == TokenAudience.Subscriber)
        {
            Volatile.Write(ref _lastSubscriber, cached);
        }
    }

    private async ValueTask<TokenResult> ValidateUncachedAsync(string token, TokenAudience audience, CancellationToken cancellationToken)
    {
        var keys = KeysFor(audience);
        if (keys is null)
        {
            return TokenResult.Invalid("no key configured");
        }

        if (string.IsNullOrEmpty(token) || token.Length > _handler.MaximumTokenSizeInBytes)
        {
            return TokenResult.Invalid("malformed token");
        }

        JsonWebToken jwt;
        try
        {
            jwt = new JsonWebToken(token);
        }
        catch (Exception ex) when (ex is ArgumentException or SecurityTokenException or JsonException or FormatException)
        {
            return TokenResult.Invalid("malformed token");
        }

        if (jwt.IsEncrypted)
        {
            return TokenResult.Invalid("encrypted tokens are not supported");
        }

        // Checked before the library sees the token, for a precise reason: the library reports alg=none as a
        // missing signature. Ordinal, as the library compares: "hs256" is not HS256.
        var alg = jwt.Alg;
        if (string.IsNullOrEmpty(alg) || string.Equals(alg, "none", StringComparison.OrdinalIgnoreCase))
        {
            return TokenResult.Invalid("unsupported alg none");
        }

        if (!keys.Algorithms.Contains(alg, StringComparer.Ordinal))
        {
            return TokenResult.Invalid("unsupported alg " + Printable(alg));
        }

        IReadOnlyList<SecurityKey> jwksKeys = [];
        if (keys.Jwks is not null && keys.JwksAlgorithm(alg))
        {
            jwksKeys = await keys.Jwks.GetKeysAsync(cancellationToken).ConfigureAwait(false);
        }

        var result = await _handler.ValidateTokenAsync(jwt, keys.Parameters(jwksKeys)).ConfigureAwait(false);
        if (!result.IsValid
            && IsSignatureFailure(result.Exception, jwt)
            && keys.Jwks is not null
            && keys.JwksAlgorithm(alg)
            && !KnowsKeyId(jwksKeys, jwt.Kid))
        {
            // A key id the cache has not seen: the provider may have rotated its keys since the last fetch.
            var refreshed = await keys.Jwks.RefreshForUnknownKeyAsync(jwksKeys, cancellationToken).ConfigureAwait(false);
            if (refreshed is not null)
            {
                jwksKeys = refreshed;
                result = await _handler.ValidateTokenAsync(jwt, keys.Parameters(jwksKeys)).ConfigureAwait(false);
            }
        }

        if (!result.IsValid)
        {
            // Only the JWKS could have verified this token (its alg is not the static key's), and it has never
            // answered: say so, rather than blame a signature nothing checked.
            if (keys.Jwks is { HasKeys: false } && keys.JwksAlgorithm(alg)
                && (keys.StaticKey is null || !string.Equals(alg, keys.StaticAlgorithm, StringComparison.Ordinal)))
            {
                return TokenResult.Invalid("JWKS keys unavailable");
            }

            return TokenResult.Invalid(IsSignatureFailure(result.Exception, jwt) ? "token signature invalid" : Reason(result.Exception));
        }

        return ReadClaims(jwt);
    }

    private AudienceKeys? KeysFor(TokenAudience audience) => audience switch
    {
        TokenAudience.Publisher => _publisher,
        TokenAudience.Subscriber => _subscriber,
        _ => throw new ArgumentOutOfRangeException(nameof(audience)),
    };

    private static bool KnowsKeyId(IReadOnlyList<SecurityKey> keys, string? kid)
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
    /// Whether no configured key verifies the signature. Not just the exception type: when no key matches the
    /// token's <c>kid</c>, Microsoft.IdentityModel 8.x checks the lifetime first for a "better" error, and reads a
    /// missing <c>exp</c> as 0001-01-01, so a token without <c>exp</c> signed by an unknown key comes back as
    /// expired. Taken at its word, that would report the wrong reason and skip the JWKS refresh a rotated key needs.
    /// </summary>
    private static bool IsSignatureFailure(Exception? exception, JsonWebToken jwt) =>
        exception is SecurityTokenInvalidSignatureException
        || (exception is SecurityTokenExpiredException && !jwt.TryGetPayloadValue<object>("exp", out _));

    /// <summary>One short line a client can act on; the library's own messages carry key ids and IDX codes.</summary>
    private static string Reason(Exception? exception) => exception switch
    {
        SecurityTokenExpiredException => "token expired",
        SecurityTokenNotYetValidException => "token not yet valid",
        SecurityTokenInvalidLifetimeException => "token lifetime invalid",
        SecurityTokenInvalidSignatureException => "token signature invalid",
        SecurityTokenInvalidAlgorithmException => "unsupported alg",
        SecurityTokenMalformedException or ArgumentException => "malformed token",
        _ => "token invalid",
    };

    /// <summary>The <c>alg</c> goes back to the client in the reason; keep it short and free of control characters.</summary>
    private static string Printable(string value)
    {
        const int MaxLength = 16;
        var span = value.AsSpan(0, Math.Min(value.Length, MaxLength));
        foreach (var c in span)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c != '-' && c != '_' && c != '+')
            {
                return "(unprintable)";
            }
        }

        return value.Length > MaxLength ? string.Concat(span, "…") : value;
    }

    /// <summary>
    /// Reads <c>exp</c> and the <c>mercure</c> claim from the signed payload itself, so <c>payload</c> keeps its
    /// exact JSON whatever the library would make of nested objects.
    /// </summary>
    private static TokenResult ReadClaims(JsonWebToken jwt)
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
            return TokenResult.Valid(new MercureClaims(publish, subscribe, payload, expires));
        }
        catch (JsonException)
        {
            return TokenResult.Invalid("malformed token");
        }
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

    /// <summary>A validated token and until when it is trusted without checking it again.</summary>
    private sealed record CachedToken(string Token, MercureClaims Claims, DateTimeOffset CachedUntil);

    /// <summary>What verifies one audience's tokens: a static key, a JWKS URL, or both.</summary>
    private sealed class AudienceKeys
    {
        private readonly TimeProvider _time;

        private AudienceKeys(SecurityKey? staticKey, string? staticAlgorithm, JwksKeyCache? jwks, TimeProvider time)
        {
            _time = time;
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

        public bool JwksAlgorithm(string alg) => JwksAlgorithms.Contains(alg, StringComparer.Ordinal);

        public TokenValidationParameters Parameters(IReadOnlyList<SecurityKey> jwksKeys)
        {
            var signingKeys = new List<SecurityKey>(jwksKeys.Count + 1);
            if (StaticKey is not null)
            {
                signingKeys.Add(StaticKey);
            }

            signingKeys.AddRange(jwksKeys);
            return new TokenValidationParameters
            {
                // The Mercure 0.x hub checks neither; tokens minted for it carry none (or arbitrary ones).
                ValidateIssuer = false,
                ValidateAudience = false,
                // exp is checked when present; a token without one is valid forever, as in the reference hub.
                ValidateLifetime = true,
                RequireExpirationTime = false,
                ClockSkew = ClockSkew,
                LifetimeValidator = CheckLifetime,
                RequireSignedTokens = true,
                ValidAlgorithms = Algorithms,
                IssuerSigningKeys = signingKeys,
                // Key lifetime only concerns X.509 keys; Mercure keys are bare.
                ValidateIssuerSigningKey = false,
                TryAllIssuerSigningKeys = true,
            };
        }

        /// <summary>
        /// The library's lifetime rule (exp and nbf, each with <see cref="ClockSkew"/>) on the hub's clock rather than
        /// the machine's, so it is the same clock the token cache reads. Throws what the library would, for the reason.
        /// </summary>
        private bool CheckLifetime(DateTime? notBefore, DateTime? expires, SecurityToken token, TokenValidationParameters parameters)
        {
            var now = _time.GetUtcNow().UtcDateTime;
            if (notBefore is { } nbf && expires is { } end && nbf > end)
            {
                throw new SecurityTokenInvalidLifetimeException("nbf is after exp") { NotBefore = nbf, Expires = end };
            }

            if (expires is { } exp && now > exp + ClockSkew)
            {
                throw new SecurityTokenExpiredException("token expired") { Expires = exp };
            }

            if (notBefore is { } start && now < start - ClockSkew)
            {
                throw new SecurityTokenNotYetValidException("token not yet valid") { NotBefore = start };
            }

            return true;
        }

        public static AudienceKeys? Create(
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
                staticAlgorithm = (algorithm ?? SecurityAlgorithms.HmacSha256).Trim().ToUpperInvariant() switch
                {
                    SecurityAlgorithms.HmacSha256 => SecurityAlgorithms.HmacSha256,
                    SecurityAlgorithms.RsaSha256 => SecurityAlgorithms.RsaSha256,
                    _ => throw new InvalidOperationException(
                        $"{HeraldOptions.SectionName}:{algorithmSetting} must be HS256 or RS256, not '{algorithm}'."),
                };
                staticKey = staticAlgorithm == SecurityAlgorithms.HmacSha256
                    ? HmacKey(key!)
                    : RsaKey(key!, keySetting);
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

            return new AudienceKeys(staticKey, staticAlgorithm, jwks, time);
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
        {
            // Lives as long as the validator (the app): the key is used on every RS256 validation.
            var rsa = RSA.Create();
            try
            {
                // Environment variables often carry a PEM on one line with literal "\n"; base64 has no
                // backslash, so turning them back into line breaks cannot change a real PEM.
                rsa.ImportFromPem(pem.Replace("\\n", "\n", StringComparison.Ordinal));
            }
            catch (ArgumentException ex)
            {
                rsa.Dispose();
                throw new InvalidOperationException(
                    $"{HeraldOptions.SectionName}:{keySetting} must be a PEM RSA public key (-----BEGIN PUBLIC KEY-----) for RS256: {ex.Message}",
                    ex);
            }

            return new RsaSecurityKey(rsa);
        }
    }
}
