namespace Herald.Security;

/// <summary>
/// Everything that verifies tokens at one moment: the hub-wide keys, the trusted issuers (the hub's own issuer holding
/// those same keys) and the tokens validated with them. Never changed: when a key file changes, a whole new keyring
/// replaces this one (<see cref="TokenKeyringSource"/>), so a request sees either the old keys or the new ones, never a
/// mix, and takes no lock to read them.
/// </summary>
/// <remarks>
/// The token cache belongs to the keyring because what it remembers is "this token verified with these keys": a token
/// cached under the old key must be verified again under the new one, and a fresh, empty cache is how.
/// </remarks>
internal sealed class TokenKeyring(TokenKeys? publisher, TokenKeys? subscriber, TrustedIssuers issuers, TokenCache cache)
{
    /// <summary>The hub-wide publisher keys (0.x tokens; 1.0 tokens of <see cref="HeraldOptions.Issuer"/>).</summary>
    public TokenKeys? Publisher { get; } = publisher;

    /// <summary>The hub-wide subscriber keys.</summary>
    public TokenKeys? Subscriber { get; } = subscriber;

    public TrustedIssuers Issuers { get; } = issuers;

    /// <summary>Tokens validated with these keys.</summary>
    public TokenCache Cache { get; } = cache;

    /// <summary>The hub-wide keys of <paramref name="audience"/>.</summary>
    public TokenKeys? For(TokenAudience audience) => audience switch
    {
        TokenAudience.Publisher => Publisher,
        TokenAudience.Subscriber => Subscriber,
        _ => throw new ArgumentOutOfRangeException(nameof(audience)),
    };
}
