namespace Herald;

/// <summary>
/// A trusted issuer of Mercure 1.0 access tokens (<see cref="HeraldOptions.Issuers"/>): its identifier, as tokens carry it
/// in <c>iss</c>, and the keys that verify its publishers' and subscribers' tokens (configuration
/// <c>Herald:Issuers:0:Id</c>, <c>Herald:Issuers:0:Publisher:JwtKey</c>, <c>Herald:Issuers:0:Subscriber:JwksUrl</c>, …).
/// A key verifies only the tokens of the issuer it is listed under.
/// </summary>
public sealed class TrustedIssuer
{
    /// <summary>The issuer identifier, compared byte for byte with the token's <c>iss</c>.</summary>
    public string Id { get; set; } = string.Empty;

    /// <summary>What verifies this issuer's publisher tokens.</summary>
    public TrustedIssuerKeys Publisher { get; } = new();

    /// <summary>What verifies this issuer's subscriber tokens (different keys, so one role's key cannot act for the other).</summary>
    public TrustedIssuerKeys Subscriber { get; } = new();
}

/// <summary>One role's keys of a <see cref="TrustedIssuer"/>: a static key, a JWKS URL, or both.</summary>
public sealed class TrustedIssuerKeys
{
    /// <summary>Shared key (HS256), PEM public key (RS256) or PEM P-256 public key (ES256).</summary>
    public string? JwtKey { get; set; }

    /// <summary>
    /// A file holding <see cref="JwtKey"/> instead (the same formats), read again whenever it changes: the way to keep the
    /// key off command lines and configuration files and to rotate it without a restart. Setting both is an error.
    /// </summary>
    public string? JwtKeyFile { get; set; }

    /// <summary>Algorithm of <see cref="JwtKey"/>: <c>HS256</c> (default), <c>RS256</c> or <c>ES256</c>.</summary>
    public string JwtAlgorithm { get; set; } = "HS256";

    /// <summary>A JWKS URL whose RSA and EC keys verify the tokens (symmetric keys in it are ignored: a JWKS is public).</summary>
    public string? JwksUrl { get; set; }
}
