using System.Collections.Concurrent;

namespace Herald.Security;

/// <summary>
/// Validated tokens, remembered per audience and hub URL so a token is not verified again on every request: a publisher
/// sends the same token with every request, and checking a signature costs tens of microseconds, more than the rest of a
/// publish. Only valid results are cached, keyed by the whole token string and the hub URL it was validated for (a 1.0
/// token is valid only where its <c>aud</c> names the hub, and its URL patterns resolve against that URL), for at most
/// <see cref="CachedTokenLifetime"/> (or until the token expires, if sooner).
/// </summary>
/// <remarks>
/// Reads the clock the validator checks <c>exp</c> on, with the same skew, so a cached token can never outlive what a
/// fresh validation would allow.
/// </remarks>
internal sealed class TokenCache(TimeProvider time)
{
    /// <summary>Past this many cached tokens the cache starts over, so a flood of distinct tokens cannot grow memory.</summary>
    private const int MaxCachedTokens = 10_000;

    /// <summary>How long a validated token is trusted without checking it again, so a key rotated out of a JWKS stops working soon.</summary>
    private static readonly TimeSpan CachedTokenLifetime = TimeSpan.FromMinutes(1);

    /// <summary>The hub URL 0.x tokens are cached under: any.</summary>
    private const string AnyHub = "";

    private readonly ConcurrentDictionary<(string Token, TokenAudience Audience, string HubUrl), CachedToken> _valid = new();

    /// <summary>
    /// The token each audience validated last. Publishers resend one token with every request, so this is nearly
    /// always a hit, found by comparing the strings instead of hashing the whole token for the dictionary.
    /// </summary>
    private CachedToken? _lastPublisher;

    private CachedToken? _lastSubscriber;

    /// <summary>The claims <paramref name="token"/> was validated with, if it is cached and a fresh validation would still accept it.</summary>
    public bool TryGet(string token, TokenAudience audience, string hubUrl, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out MercureClaims? claims)
    {
        var last = audience switch
        {
            TokenAudience.Publisher => Volatile.Read(ref _lastPublisher),
            TokenAudience.Subscriber => Volatile.Read(ref _lastSubscriber),
            _ => null,
        };
        var cached = last is not null && string.Equals(last.Token, token, StringComparison.Ordinal) && (last.HubUrl.Length == 0 || string.Equals(last.HubUrl, hubUrl, StringComparison.Ordinal))
            ? last
            : _valid.TryGetValue((token, audience, hubUrl), out var found) || _valid.TryGetValue((token, audience, AnyHub), out found) ? found : null;
        if (cached is not null)
        {
            // The same rule as a fresh validation (exp + skew, on the same clock): a cached token is refused
            // exactly when validating it again would refuse it.
            var now = time.GetUtcNow();
            if (now < cached.CachedUntil && (cached.Claims.Expires is not { } expires || now <= expires + SignedTokenValidator.ClockSkew))
            {
                if (!ReferenceEquals(cached, last))
                {
                    Remember(audience, cached);
                }

                claims = cached.Claims;
                return true;
            }

            _valid.TryRemove((token, audience, cached.HubUrl), out _);
            Forget(audience, cached);
        }

        claims = null;
        return false;
    }

    /// <summary>Remembers that <paramref name="token"/> validated to <paramref name="claims"/> for <paramref name="audience"/> at <paramref name="hubUrl"/>.</summary>
    public void Add(string token, TokenAudience audience, string hubUrl, MercureClaims claims)
    {
        if (_valid.Count >= MaxCachedTokens)
        {
            _valid.Clear();
        }

        // A 0.x token's validity does not depend on the hub URL: one entry serves every name the hub answers under, so
        // requests with made-up Host headers cannot fill the cache with copies of one token.
        var key = claims.Generation == TokenGeneration.V1 ? hubUrl : AnyHub;
        var cached = new CachedToken(token, key, claims, time.GetUtcNow() + CachedTokenLifetime);
        _valid[(token, audience, key)] = cached;
        Remember(audience, cached);
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

    /// <summary>A validated token and until when it is trusted without checking it again.</summary>
    private sealed record CachedToken(string Token, string HubUrl, MercureClaims Claims, DateTimeOffset CachedUntil);
}
