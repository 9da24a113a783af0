using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Herald.Security;

/// <summary>
/// Checks a JWS against the <see cref="TokenKeys"/> meant for it: its form, an <c>alg</c> from the keys' allow-list,
/// the signature (fetching the JWKS again when a token names a key id it has not seen), and <c>exp</c>/<c>nbf</c> on
/// the hub's clock. Issuer and audience are not checked, as in the Mercure 0.x hub. What the token grants is not read
/// here: that is the claims readers' job.
/// </summary>
internal sealed class SignedTokenValidator(TimeProvider time)
{
    /// <summary>Clients and hub clocks drift; five minutes (the library default) would keep expired tokens alive far too long.</summary>
    internal static readonly TimeSpan ClockSkew = TimeSpan.FromSeconds(5);

    private readonly JsonWebTokenHandler _handler = new();

    /// <summary>
    /// The parsed token when its signature and lifetime hold, else a one-line <c>Error</c> fit for a 401 body (it never
    /// echoes more of the token than its <c>alg</c>). Never throws for a bad token; only a JWKS fetch awaits anything.
    /// </summary>
    public async ValueTask<(JsonWebToken? Token, string? Error)> ValidateAsync(string token, TokenKeys keys, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(token) || token.Length > _handler.MaximumTokenSizeInBytes)
        {
            return (null, "malformed token");
        }

        JsonWebToken jwt;
        try
        {
            jwt = new JsonWebToken(token);
        }
        catch (Exception ex) when (ex is ArgumentException or SecurityTokenException or JsonException or FormatException)
        {
            return (null, "malformed token");
        }

        if (jwt.IsEncrypted)
        {
            return (null, "encrypted tokens are not supported");
        }

        // Checked before the library sees the token, for a precise reason: the library reports alg=none as a
        // missing signature. Ordinal, as the library compares: "hs256" is not HS256.
        var alg = jwt.Alg;
        if (string.IsNullOrEmpty(alg) || string.Equals(alg, "none", StringComparison.OrdinalIgnoreCase))
        {
            return (null, "unsupported alg none");
        }

        if (!keys.Algorithms.Contains(alg, StringComparer.Ordinal))
        {
            return (null, "unsupported alg " + Printable(alg));
        }

        IReadOnlyList<SecurityKey> jwksKeys = [];
        if (keys.IsJwksAlgorithm(alg))
        {
            jwksKeys = await keys.Jwks!.GetKeysAsync(cancellationToken).ConfigureAwait(false);
        }

        var result = await _handler.ValidateTokenAsync(jwt, Parameters(keys, jwksKeys)).ConfigureAwait(false);
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
                result = await _handler.ValidateTokenAsync(jwt, Parameters(keys, jwksKeys)).ConfigureAwait(false);
            }
        }

        if (!result.IsValid)
        {
            // Only the JWKS could have verified this token (its alg is not the static key's), and it has never
            // answered: say so, rather than blame a signature nothing checked.
            if (keys.OnlyUnfetchedJwksCouldVerify(alg))
            {
                return (null, "JWKS keys unavailable");
            }

            return (null, IsSignatureFailure(result.Exception, jwt) ? "token signature invalid" : Reason(result.Exception));
        }

        return (jwt, null);
    }

    private TokenValidationParameters Parameters(TokenKeys keys, IReadOnlyList<SecurityKey> jwksKeys) => new()
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
