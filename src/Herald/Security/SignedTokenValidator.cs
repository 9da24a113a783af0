using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Herald.Security;

/// <summary>
/// Checks a JWS against the <see cref="TokenKeys"/> meant for it: its form, an <c>alg</c> from the keys' allow-list,
/// the signature (fetching the JWKS again when a token names a key id it has not seen), and <c>exp</c>/<c>nbf</c> on
/// the hub's clock. Issuer and audience are not checked here (the 0.x hub checks neither; for 1.0 see
/// <see cref="AccessTokenRules"/>). What the token grants is not read here: that is the claims readers' job.
/// </summary>
internal sealed class SignedTokenValidator(TimeProvider time)
{
    /// <summary>Clients and hub clocks drift; five minutes (the library default) would keep expired tokens alive far too long.</summary>
    internal static readonly TimeSpan ClockSkew = TimeSpan.FromSeconds(5);

    private readonly JsonWebTokenHandler _handler = new();

    /// <summary>
    /// Reads a compact JWS without checking anything but its form, so the hub can tell which rules apply (0.x or 1.0) and,
    /// for 1.0, which issuer's keys to verify it with. Never throws for a bad token.
    /// </summary>
    public static bool TryRead(string token, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out JsonWebToken? jwt)
    {
        jwt = null;
        if (string.IsNullOrEmpty(token) || token.Length > TokenValidationParameters.DefaultMaximumTokenSizeInBytes)
        {
            return false;
        }

        try
        {
            jwt = new JsonWebToken(token);
            return true;
        }
        catch (Exception ex) when (ex is ArgumentException or SecurityTokenException or JsonException or FormatException)
        {
            return false;
        }
    }

    /// <summary>
    /// <c>null</c> when the token's signature and lifetime hold, else a one-line reason fit for a 401 body (it never
    /// echoes more of the token than its <c>alg</c>). <paramref name="requireExpiration"/>: a token without <c>exp</c> is refused
    /// (Mercure 1.0); otherwise it never expires (0.x). Never throws for a bad token; only a JWKS fetch awaits anything.
    /// </summary>
    public async ValueTask<string?> ValidateAsync(JsonWebToken jwt, TokenKeys keys, bool requireExpiration, CancellationToken cancellationToken)
    {
        if (jwt.IsEncrypted)
        {
            return "encrypted tokens are not supported";
        }

        // Checked before the library sees the token, for a precise reason: the library reports alg=none as a
        // missing signature. Ordinal, as the library compares: "hs256" is not HS256.
        var alg = jwt.Alg;
        if (string.IsNullOrEmpty(alg) || string.Equals(alg, "none", StringComparison.OrdinalIgnoreCase))
        {
            return "unsupported alg none";
        }

        if (!keys.Algorithms.Contains(alg, StringComparer.Ordinal))
        {
            return "unsupported alg " + Printable(alg);
        }

        IReadOnlyList<SecurityKey> jwksKeys = [];
        if (keys.IsJwksAlgorithm(alg))
        {
            jwksKeys = await keys.Jwks!.GetKeysAsync(cancellationToken).ConfigureAwait(false);
        }

        var result = await _handler.ValidateTokenAsync(jwt, Parameters(keys, jwksKeys, requireExpiration)).ConfigureAwait(false);
        if (!result.IsValid
            && IsSignatureFailure(result.Exception, jwt)
            && keys.IsJwksAlgorithm(alg)
            && !TokenKeys.KnowsKeyId(jwksKeys, jwt.Kid))
        {
            // A key id the cache has not seen: the provider may have rotated its keys since the last fetch.
            var refreshed = await keys.Jwks!.RefreshForUnknownKeyAsync(jwksKeys, cancellationToken).ConfigureAwait(false);
            if (refreshed is not null)
            {
                jwksKeys = refreshed;
                result = await _handler.ValidateTokenAsync(jwt, Parameters(keys, jwksKeys, requireExpiration)).ConfigureAwait(false);
            }
        }

        if (!result.IsValid)
        {
            // Only the JWKS could have verified this token (its alg is not the static key's), and it has never
            // answered: say so, rather than blame a signature nothing checked.
            if (keys.OnlyUnfetchedJwksCouldVerify(alg))
            {
                return "JWKS keys unavailable";
            }

            return IsSignatureFailure(result.Exception, jwt) ? "token signature invalid" : Reason(result.Exception);
        }

        return null;
    }

    private TokenValidationParameters Parameters(TokenKeys keys, IReadOnlyList<SecurityKey> jwksKeys, bool requireExpiration) => new()
    {
        // Not here: the Mercure 0.x hub checks neither, and for 1.0 the issuer chose the keys (TrustedIssuers) and the
        // audience is compared exactly (AccessTokenRules), where the library would forgive a trailing slash.
        ValidateIssuer = false,
        ValidateAudience = false,
        // exp is checked when present; without one a 0.x token is valid forever, as in the reference hub, a 1.0 one never.
        ValidateLifetime = true,
        RequireExpirationTime = requireExpiration,
        ClockSkew = ClockSkew,
        LifetimeValidator = CheckLifetime,
        RequireSignedTokens = true,
        ValidAlgorithms = keys.Algorithms,
        IssuerSigningKeys = keys.SigningKeys(jwksKeys),
        // Key lifetime only concerns X.509 keys; Mercure keys are bare.
        ValidateIssuerSigningKey = false,
        TryAllIssuerSigningKeys = true,
    };

    /// <summary>
    /// The library's lifetime rule (exp and nbf, each with <see cref="ClockSkew"/>) on the hub's clock rather than
    /// the machine's, so it is the same clock the token cache reads. Throws what the library would, for the reason.
    /// </summary>
    private bool CheckLifetime(DateTime? notBefore, DateTime? expires, SecurityToken token, TokenValidationParameters parameters)
    {
        var now = time.GetUtcNow().UtcDateTime;

        // The library skips its own RequireExpirationTime check when a lifetime validator is set.
        if (expires is null && parameters.RequireExpirationTime)
        {
            throw new SecurityTokenNoExpirationException("token has no exp");
        }

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
        SecurityTokenNoExpirationException => "token has no exp",
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
}
