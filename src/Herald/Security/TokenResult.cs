namespace Herald.Security;

/// <summary>
/// The outcome of validating a token: the <see cref="Claims"/> when valid, else a one-line
/// <see cref="Error"/> fit for a 401 body (it never echoes more of the token than its <c>alg</c>).
/// </summary>
internal readonly record struct TokenResult(MercureClaims? Claims, string? Error)
{
    public bool IsValid => Claims is not null;

    public static TokenResult Valid(MercureClaims claims) => new(claims, null);

    public static TokenResult Invalid(string error) => new(null, error);
}
