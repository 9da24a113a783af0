using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;

namespace Herald.Security;

/// <summary>
/// Authenticates requests to the hub and validates their tokens, in the generation each token speaks:
/// <list type="bullet">
/// <item>Mercure 1.0 (a token with <c>authorization_details</c>, or every token when <see cref="HeraldOptions.Protocol"/>
/// is <see cref="MercureProtocol.V1"/>): an RFC 9068 access token (<c>typ</c> <c>at+jwt</c>, <c>iss</c> a trusted issuer
/// whose own keys verify it, <c>aud</c> naming the hub, <c>exp</c> required, <c>nbf</c> honoured), its rights read from
/// <c>authorization_details</c>.</item>
/// <item>Mercure 0.x (compatible mode, a token without <c>authorization_details</c>): as the 0.x hub does, a signature by
/// the hub-wide key of the audience (HS256, RS256/ES256 PEM, and/or a JWKS URL), <c>exp</c> honoured when present,
/// issuer and audience not checked, rights from the <c>mercure</c> claim.</item>
/// </list>
/// </summary>
/// <remarks>
/// Puts the parts together in one direction: where the token is (<see cref="TokenLocator"/>), the cache
/// (<see cref="TokenCache"/>), the keys (<see cref="TrustedIssuers"/>, <see cref="TokenKeys"/>), the 1.0 claims rules
/// (<see cref="AccessTokenRules"/>), the signature and lifetime (<see cref="SignedTokenValidator"/>), and what the token
/// grants (<see cref="MercureClaimReader"/>, <see cref="AuthorizationDetailsReader"/>). Configuration errors (an unknown
/// algorithm, a PEM that does not parse, a relative JWKS URL, an issuer without keys) throw from the constructor, so a
/// misconfigured hub fails at startup rather than answering 401 to everyone. Keys from files are reloaded when the files
/// change (<see cref="TokenKeyringSource"/>); each validation uses the keys and cache of one moment throughout.
/// </remarks>
internal sealed class MercureTokenValidator : IDisposable
{
    /// <summary>Name of the <see cref="IHttpClientFactory"/> client used to fetch JWKS documents.</summary>
    public const string JwksHttpClientName = "Herald.Jwks";

    /// <summary>Used when the host registers no <see cref="IHttpClientFactory"/>; shared, never disposed, DNS refreshed.</summary>
    private static readonly Lazy<HttpClient> FallbackHttpClient = new(static () => new HttpClient(
        new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) }));

    private readonly HeraldOptions _options;
    private readonly TokenKeyringSource _keys;
    private readonly SignedTokenValidator _signed;

    /// <param name="options">The hub's settings: keys, issuers, JWKS URLs and the JWKS fetch timeout, protocol, cookie.</param>
    /// <param name="httpClientFactory">Makes the client that fetches JWKS documents; a shared one when absent.</param>
    /// <param name="logger">Where JWKS fetch failures and startup advice about issuers are reported.</param>
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
        _signed = new SignedTokenValidator(time);
        var o = _options = options.Value;
        Func<HttpClient> httpClient = httpClientFactory is null
            ? static () => FallbackHttpClient.Value
            : () => httpClientFactory.CreateClient(JwksHttpClientName);
        var log = logger ?? NullLogger.Instance;

        _keys = new TokenKeyringSource(
            o,
            (keySetting, key, algorithmSetting, algorithm, jwksSetting, jwksUrl) => TokenKeys.Create(
                keySetting, key, algorithmSetting, algorithm, jwksSetting, jwksUrl, httpClient, time, o.JwksFetchTimeout, log),
            time,
            log);
    }

    /// <summary>Whether a key or a JWKS URL is set for <paramref name="audience"/>, hub-wide or for some issuer.</summary>
    public bool IsConfigured(TokenAudience audience)
    {
        var keys = _keys.Current;
        return keys.For(audience) is not null || keys.Issuers.HasKeysFor(audience);
    }

    /// <summary>Stops watching key files.</summary>
    public void Dispose() => _keys.Dispose();

    /// <summary>
    /// Finds the request's token (<see cref="TokenLocator"/>) and validates it for <paramref name="audience"/> at the hub
    /// whose resource identifier is <paramref name="hubUrl"/> (<c>MercureHub.UrlFor</c>). Never throws for a bad token or
    /// presentation: each failure is a status the endpoint answers with <see cref="TokenOutcome.RefuseAsync"/>.
    /// </summary>
    public async ValueTask<TokenOutcome> AuthenticateAsync(HttpRequest request, TokenAudience audience, string hubUrl, CancellationToken cancellationToken)
    {
        var presented = TokenLocator.Find(request, _options);
        if (presented.Refusal is { } refusal)
        {
            return refusal;
        }

        if (presented.Token is null)
        {
            return TokenOutcome.Absent;
        }

        var result = await ValidateAsync(presented.Token, audience, hubUrl, cancellationToken).ConfigureAwait(false);
        if (result.Claims is not { } claims)
        {
            return TokenOutcome.InvalidToken(result.Error!);
        }

        // A query string ends up in logs and browser history (RFC 9700): only 0.x clients may still send tokens there.
        if (claims.Generation == TokenGeneration.V1 && presented.Source == TokenSource.QueryParameter)
        {
            return TokenOutcome.InvalidRequest("Mercure 1.0 tokens are not accepted in the query string: send Authorization: Bearer or the cookie");
        }

        return TokenOutcome.Valid(claims);
    }

    /// <summary>
    /// Validates <paramref name="token"/> for <paramref name="audience"/> at the hub whose resource identifier (the
    /// <c>aud</c> a 1.0 token must name, the base of its URL patterns) is <paramref name="hubUrl"/>. Never throws for a
    /// bad token: every failure is a <see cref="TokenResult"/> with a one-line reason. Only a JWKS fetch awaits anything.
    /// </summary>
    /// <remarks>
    /// Valid tokens are cached until they expire (<see cref="TokenCache"/>), per hub URL since a 1.0 token's validity
    /// depends on it: a publisher sends the same token with every request, and checking a signature costs tens of
    /// microseconds, more than the rest of a publish.
    /// </remarks>
    public ValueTask<TokenResult> ValidateAsync(string token, TokenAudience audience, string hubUrl, CancellationToken cancellationToken)
    {
        // One keyring for the whole validation: a key file swapped meanwhile cannot mix old keys with the new cache.
        var keys = _keys.Current;
        if (token is not null && keys.Cache.TryGet(token, audience, hubUrl, out var claims))
        {
            return ValueTask.FromResult(TokenResult.Valid(claims));
        }

        return ValidateAndCacheAsync(keys, token!, audience, hubUrl, cancellationToken);
    }

    private async ValueTask<TokenResult> ValidateAndCacheAsync(TokenKeyring keys, string token, TokenAudience audience, string hubUrl, CancellationToken cancellationToken)
    {
        var result = await ValidateUncachedAsync(keys, token, audience, hubUrl, cancellationToken).ConfigureAwait(false);
        if (result.Claims is { } claims)
        {
            keys.Cache.Add(token, audience, hubUrl, claims);
        }

        return result;
    }

    private async ValueTask<TokenResult> ValidateUncachedAsync(TokenKeyring keys, string token, TokenAudience audience, string hubUrl, CancellationToken cancellationToken)
    {
        if (!SignedTokenValidator.TryRead(token, out var jwt))
        {
            return TokenResult.Invalid("malformed token");
        }

        using var payload = TokenClaimsReader.Parse(jwt);
        if (payload is null)
        {
            return TokenResult.Invalid("malformed token");
        }

        var root = payload.RootElement;
        return _options.Protocol == MercureProtocol.V1 || root.TryGetProperty("authorization_details", out _)
            ? await ValidateAccessTokenAsync(keys.Issuers, jwt, root, audience, hubUrl, cancellationToken).ConfigureAwait(false)
            : await ValidateLegacyTokenAsync(keys.For(audience), jwt, root, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Mercure 1.0, "Token Validation": everything the token says about itself first, then the signature.</summary>
    private async ValueTask<TokenResult> ValidateAccessTokenAsync(
        TrustedIssuers issuers, JsonWebToken jwt, JsonElement root, TokenAudience audience, string hubUrl, CancellationToken cancellationToken)
    {
        if (!AccessTokenRules.HasAccessTokenType(jwt))
        {
            return TokenResult.Invalid("token typ must be at+jwt");
        }

        if (AccessTokenRules.Issuer(root) is not { } issuer)
        {
            return TokenResult.Invalid("token has no iss");
        }

        // The issuer's own keys and only those: a key of another trusted issuer never verifies this token.
        if (!issuers.TryGetKeys(issuer, audience, out var keys))
        {
            return TokenResult.Invalid("token iss is not a trusted issuer");
        }

        if (keys is null)
        {
            return TokenResult.Invalid($"token iss has no key for {(audience == TokenAudience.Publisher ? "publishers" : "subscribers")}");
        }

        if (!AccessTokenRules.HasExpiration(root))
        {
            return TokenResult.Invalid("token has no exp");
        }

        if (!AccessTokenRules.NamesAudience(root, hubUrl))
        {
            return TokenResult.Invalid("token aud does not name this hub");
        }

        var error = await _signed.ValidateAsync(jwt, keys, requireExpiration: true, cancellationToken).ConfigureAwait(false);
        return error is not null
            ? TokenResult.Invalid(error)
            : AuthorizationDetailsReader.Read(root, TokenClaimsReader.Expires(root), hubUrl, _options.MaxSelectorLength);
    }

    /// <summary>Mercure 0.x: the hub-wide key of the audience, <c>exp</c> when present, the <c>mercure</c> claim.</summary>
    private async ValueTask<TokenResult> ValidateLegacyTokenAsync(TokenKeys? keys, JsonWebToken jwt, JsonElement root, CancellationToken cancellationToken)
    {
        if (keys is null)
        {
            return TokenResult.Invalid("no key configured");
        }

        var error = await _signed.ValidateAsync(jwt, keys, requireExpiration: false, cancellationToken).ConfigureAwait(false);
        return error is not null ? TokenResult.Invalid(error) : MercureClaimReader.Read(root, TokenClaimsReader.Expires(root));
    }
}
