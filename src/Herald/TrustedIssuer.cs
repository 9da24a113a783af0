namespace Herald;

/// <summary>
/// A trusted issuer of Mercure 1.0 access tokens (<see cref="HeraldOptions.Issuers"/>): its identifier, as tokens carry it
/// in <c>iss</c>, and the keys that verify its publishers' and subscribers' tokens. A key verifies only the tokens of the
/// issuer it is listed under.
/// </summary>
public sealed class TrustedIssuer
{
    /// <summary>The issuer identifier, compared byte for byte with the token's <c>iss</c>.</summary>
    public string Id { get; set; } = string.Empty;

    /// <summary>Shared key (HS256), PEM public key (RS256) or PEM EC public key (ES256) that verifies this issuer's publisher tokens.</summary>
    public string? PublisherJwtKey { get; set; }

    /// <summary>Key that verifies this issuer's subscriber tokens.</summary>
    public string? SubscriberJwtKey { get; set; }

    /// <summary>Algorithm of the publisher key: <c>HS256</c> (default), <c>RS256</c> or <c>ES256</c>.</summary>
    public string PublisherJwtAlgorithm { get; set; } = "HS256";

    /// <summary>Algorithm of the subscriber key: <c>HS256</c> (default), <c>RS256</c> or <c>ES256</c>.</summary>
    public string SubscriberJwtAlgorithm { get; set; } = "HS256";

    /// <summary>A JWKS URL whose keys verify this issuer's publisher tokens (RSA and EC keys only).</summary>
    public string? PublisherJwksUrl { get; set; }

    /// <summary>A JWKS URL whose keys verify this issuer's subscriber tokens.</summary>
    public string? SubscriberJwksUrl { get; set; }
}
