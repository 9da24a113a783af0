using Herald.Mercure;
using Microsoft.AspNetCore.Http;

namespace Herald.Security;

/// <summary>What a request's token comes to (<see cref="MercureTokenValidator.AuthenticateAsync"/>).</summary>
internal enum TokenStatus
{
    /// <summary>The request presents no token.</summary>
    Absent,

    /// <summary>A valid token: <see cref="TokenOutcome.Claims"/> says what it grants.</summary>
    Valid,

    /// <summary>A token that fails validation: 401 <c>invalid_token</c>, one code for every failure.</summary>
    InvalidToken,

    /// <summary>A malformed presentation (a broken header, a 1.0 token in the query string): 400 <c>invalid_request</c>.</summary>
    InvalidRequest,

    /// <summary>
    /// A cookie on a <c>POST</c> from an origin not allowed to publish (CSRF), the token unread: 400
    /// <c>invalid_request</c> (Mercure 1.0, "Error Responses").
    /// </summary>
    OriginRefused,

    /// <summary>The same for the 0.x <c>mercureAuthorization</c> cookie: the 401 0.x hubs answer, with the 1.0 challenge.</summary>
    LegacyCookieOriginRefused,
}

/// <summary>
/// The outcome of authenticating a request: its status, the <see cref="Claims"/> when valid, else a one-line
/// <see cref="Error"/> fit for the response body. <see cref="RefuseAsync"/> writes the RFC 6750 answer for a failure.
/// </summary>
internal readonly record struct TokenOutcome(TokenStatus Status, MercureClaims? Claims, string? Error)
{
    public static TokenOutcome Absent => default;

    public static TokenOutcome Valid(MercureClaims claims) => new(TokenStatus.Valid, claims, null);

    public static TokenOutcome InvalidToken(string error) => new(TokenStatus.InvalidToken, null, error);

    public static TokenOutcome InvalidRequest(string error) => new(TokenStatus.InvalidRequest, null, error);

    public static TokenOutcome OriginRefused(string error, bool legacyCookie = false)
        => new(legacyCookie ? TokenStatus.LegacyCookieOriginRefused : TokenStatus.OriginRefused, null, error);

    /// <summary>
    /// Answers a request whose token is not <see cref="TokenStatus.Valid"/> (Mercure 1.0, "Error Responses"): 401 with a
    /// bare challenge when a token is needed and none came, 401 <c>invalid_token</c>, or 400 <c>invalid_request</c>.
    /// </summary>
    public Task RefuseAsync(HttpContext context, string hubUrl, TokenAudience audience)
    {
        var role = audience == TokenAudience.Publisher ? "publisher" : "subscriber";
        return Status switch
        {
            TokenStatus.InvalidToken => ErrorResponse.UnauthorizedAsync(context, hubUrl, invalidToken: true, $"invalid {role} token: {Error}"),
            TokenStatus.InvalidRequest => ErrorResponse.InvalidRequestAsync(context, hubUrl, Error!),
            TokenStatus.OriginRefused => ErrorResponse.InvalidRequestAsync(context, hubUrl, Error!),
            TokenStatus.LegacyCookieOriginRefused => RefuseLegacyCookieAsync(context, hubUrl, Error!),
            TokenStatus.Absent => ErrorResponse.UnauthorizedAsync(context, hubUrl, invalidToken: false, $"a {role} token is required (Authorization: Bearer …)"),
            _ => throw new InvalidOperationException("a valid token is not refused"),
        };
    }

    /// <summary>The 0.x cookie from an origin the hub does not allow: 401, as 0.x hubs answer, with the 1.0 challenge.</summary>
    private static Task RefuseLegacyCookieAsync(HttpContext context, string hubUrl, string reason)
    {
        context.Response.Headers.WWWAuthenticate = ErrorResponse.Challenge("invalid_request", hubUrl);
        return ErrorResponse.WriteAsync(context, StatusCodes.Status401Unauthorized, reason);
    }
}
