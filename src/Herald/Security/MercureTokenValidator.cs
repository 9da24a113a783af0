using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Herald.Security;

/// <summary>
/// Validates Mercure JWS tokens the way the Mercure 0.x hub does: a signature by the audience's key (HS256
/// shared secret, RS256 PEM public key, and/or the keys of a JWKS URL), <c>exp</c> honoured when present, issuer
/// and audience not checked, and the <c>mercure</c> claim read into <see cref="MercureClaims"/>.
/// </summary>
/// <remarks>
/// Puts the parts together in one direction: the cache (<see cref="TokenCache"/>), then the audience's keys
/// (<see cref="TokenKeys"/>), the signature and lifetime (<see cref="SignedTokenValidator"/>), and what the token
/// grants (<see cref="TokenClaimsReader"/>). Configuration errors (an unknown algorithm, a PEM that does not parse, a
/// relative JWKS URL) throw from the constructor, so a misconfigured hub fails at startup rather than answering 401
/// to everyone.
/// </remarks>
internal sealed class MercureTokenValidator
{
    /// <summary>Name of the <see cref="IHttpClientFactory"/> client used to fetch JWKS documents.</summary>
    public const string JwksHttpClientName = "Herald.Jwks";

    /// <summary>Used when the host registers no <see cref="IHttpClientFactory"/>; shared, never disposed, DNS refreshed.</summary>
    private static readonly Lazy<HttpClient> FallbackHttpClient = new(static () => new HttpClient(
        new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) }));

    private readonly TokenKeys? _publisher;
    private readonly TokenKeys? _subscriber;
    private readonly SignedTokenValidator _signed;
    private readonly TokenCache _cache;

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
        _signed = new SignedTokenValidator(time);
        _cache = new TokenCache(time);
        var o = options.Value;
        Func<HttpClient> httpClient = httpClientFactory is null
            ? static () => FallbackHttpClient.Value
            : () => httpClientFactory.CreateClient(JwksHttpClientName);
        logger ??= NullLogger.Instance;

        _publisher = TokenKeys.Create(
            nameof(HeraldOptions.PublisherJwtKey), o.PublisherJwtKey,
            nameof(HeraldOptions.PublisherJwtAlgorithm), o.PublisherJwtAlgorithm,
            nameof(HeraldOptions.PublisherJwksUrl), o.PublisherJwksUrl,
            httpClient, time, o.JwksFetchTimeout, logger);
        _subscriber = TokenKeys.Create(
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
    /// Valid tokens are cached until they expire (<see cref="TokenCache"/>): a publisher sends the same token with
    /// every request, and checking a signature costs tens of microseconds, more than the rest of a publish.
    /// </remarks>
    public ValueTask<TokenResult> ValidateAsync(string token, TokenAudience audience, CancellationToken cancellationToken)
    {
        if (token is not null && _cache.TryGet(token, audience, out var claims))
        {
            return ValueTask.FromResult(TokenResult.Valid(claims));
        }

        return ValidateAndCacheAsync(token!, audience, cancellationToken);
    }

    private async ValueTask<TokenResult> ValidateAndCacheAsync(string token, TokenAudience audience, CancellationToken cancellationToken)
    {
        var result = await ValidateUncachedAsync(token, audience, cancellationToken).ConfigureAwait(false);
        if (result.Claims is { } claims)
        {
            _cache.Add(token, audience, claims);
        }

        return result;
    }

    private async ValueTask<TokenResult> ValidateUncachedAsync(string token, TokenAudience audience, CancellationToken cancellationToken)
    {
        var keys = KeysFor(audience);
        if (keys is null)
        {
            return TokenResult.Invalid("no key configured");
        }

        var (jwt, error) = await _signed.ValidateAsync(token, keys, cancellationToken).ConfigureAwait(false);
        return jwt is null ? TokenResult.Invalid(error!) : TokenClaimsReader.Read(jwt);
    }

    private TokenKeys? KeysFor(TokenAudience audience) => audience switch
    {
        TokenAudience.Publisher => _publisher,
        TokenAudience.Subscriber => _subscriber,
        _ => throw new ArgumentOutOfRangeException(nameof(audience)),
    };
}
