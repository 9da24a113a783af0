using Microsoft.Extensions.Logging;

namespace Herald.Security;

/// <summary>
/// The issuers whose Mercure 1.0 access tokens the hub accepts, each with the keys bound to it (Mercure 1.0, "Token
/// Validation": a token is verified only with the keys of the issuer its <c>iss</c> names, never a pool spanning issuers).
/// </summary>
/// <remarks>
/// Two sources: <see cref="HeraldOptions.Issuer"/> names the issuer the hub-wide keys (<c>PublisherJwtKey</c>, …) belong
/// to (<c>herald serve --issuer</c>), and <see cref="HeraldOptions.Issuers"/> lists more, each with keys of its own.
/// Configuration errors (an empty or repeated id, an issuer without keys) throw at startup, naming the setting.
/// </remarks>
internal sealed class TrustedIssuers
{
    private readonly Dictionary<string, (TokenKeys? Publisher, TokenKeys? Subscriber)> _issuers = new(StringComparer.Ordinal);

    /// <param name="options">The hub's settings.</param>
    /// <param name="hubWide">The hub-wide publisher and subscriber keys, already built (they also verify 0.x tokens).</param>
    /// <param name="createKeys">
    /// Builds one role's keys from the stem of the settings' names (<c>Issuers:0:Publisher:</c>, completed with
    /// <c>JwtKey</c>, <c>JwtKeyFile</c>, <c>JwtAlgorithm</c>, <c>JwksUrl</c>) and their values. After a key file changed,
    /// it returns the keys already built for that stem, with the new key.
    /// </param>
    /// <param name="logger">Where startup advice goes when no 1.0 token can be accepted.</param>
    public TrustedIssuers(
        HeraldOptions options,
        (TokenKeys? Publisher, TokenKeys? Subscriber) hubWide,
        Func<string, TrustedIssuerKeys, TokenKeys?> createKeys,
        ILogger logger)
    {
        var hasHubWideKeys = hubWide.Publisher is not null || hubWide.Subscriber is not null;
        if (!string.IsNullOrWhiteSpace(options.Issuer))
        {
            if (!hasHubWideKeys)
            {
                throw new InvalidOperationException(
                    $"{HeraldOptions.SectionName}:{nameof(HeraldOptions.Issuer)} names the issuer of the hub's keys, but no key is set: set {HeraldOptions.SectionName}:{nameof(HeraldOptions.PublisherJwtKey)}/{nameof(HeraldOptions.SubscriberJwtKey)} or a JWKS URL.");
            }

            _issuers[options.Issuer] = hubWide;
        }

        for (var i = 0; i < options.Issuers.Count; i++)
        {
            var issuer = options.Issuers[i];
            var prefix = $"{nameof(HeraldOptions.Issuers)}:{i}:";
            if (string.IsNullOrWhiteSpace(issuer.Id))
            {
                throw new InvalidOperationException($"{HeraldOptions.SectionName}:{prefix}{nameof(TrustedIssuer.Id)} must name the issuer (the iss its tokens carry).");
            }

            var publisher = createKeys(prefix + "Publisher:", issuer.Publisher);
            var subscriber = createKeys(prefix + "Subscriber:", issuer.Subscriber);
            if (publisher is null && subscriber is null)
            {
                throw new InvalidOperationException(
                    $"{HeraldOptions.SectionName}:{prefix[..^1]}: issuer '{issuer.Id}' has no key: set its Publisher:JwtKey/Subscriber:JwtKey (or JwtKeyFile) or a JwksUrl.");
            }

            if (!_issuers.TryAdd(issuer.Id, (publisher, subscriber)))
            {
                throw new InvalidOperationException(
                    $"{HeraldOptions.SectionName}:{prefix}{nameof(TrustedIssuer.Id)}: issuer '{issuer.Id}' is trusted twice; give each issuer one entry with all its keys.");
            }
        }

        if (_issuers.Count == 0 && (hasHubWideKeys || options.Protocol == MercureProtocol.V1))
        {
            SecurityLog.NoTrustedIssuer(logger);
        }
        else if (hasHubWideKeys && string.IsNullOrWhiteSpace(options.Issuer) && options.Protocol == MercureProtocol.V1)
        {
            SecurityLog.HubWideKeysUnused(logger);
        }
    }

    /// <summary>Whether some trusted issuer has keys for <paramref name="audience"/>.</summary>
    public bool HasKeysFor(TokenAudience audience)
        => _issuers.Values.Any(keys => (audience == TokenAudience.Publisher ? keys.Publisher : keys.Subscriber) is not null);

    /// <summary>
    /// The keys <paramref name="issuer"/> verifies <paramref name="audience"/> tokens with; <c>false</c> when the issuer
    /// is not trusted. <paramref name="keys"/> is <c>null</c> when it is trusted but has no key for that role.
    /// </summary>
    public bool TryGetKeys(string issuer, TokenAudience audience, out TokenKeys? keys)
    {
        if (!_issuers.TryGetValue(issuer, out var found))
        {
            keys = null;
            return false;
        }

        keys = audience == TokenAudience.Publisher ? found.Publisher : found.Subscriber;
        return true;
    }
}
