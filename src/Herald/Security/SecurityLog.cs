using Microsoft.Extensions.Logging;

namespace Herald.Security;

/// <summary>
/// The security area's log messages (event ids 500-599). Each says what happened and what the hub does about it, so
/// an operator reading one line knows whether tokens still verify.
/// </summary>
internal static partial class SecurityLog
{
    [LoggerMessage(EventId = 500, Level = LogLevel.Warning,
        Message = "The JWKS at {Url} answered HTTP {Status}; tokens keep being verified with the keys fetched before. Check that the JWKS URL is the identity provider's key set.")]
    public static partial void JwksHttpError(ILogger logger, Uri url, int status);

    [LoggerMessage(EventId = 501, Level = LogLevel.Warning,
        Message = "The JWKS document at {Url} is larger than 1 MiB, so it is not a key set; tokens keep being verified with the keys fetched before. Check the JWKS URL.")]
    public static partial void JwksDocumentTooLarge(ILogger logger, Uri url);

    [LoggerMessage(EventId = 502, Level = LogLevel.Warning,
        Message = "The JWKS document at {Url} holds no RSA or EC signing key (symmetric keys in a public key set are ignored); no token can be verified with it until it does.")]
    public static partial void JwksHasNoUsableKey(ILogger logger, Uri url);

    [LoggerMessage(EventId = 503, Level = LogLevel.Warning,
        Message = "Fetching the JWKS at {Url} timed out after {Timeout}; tokens keep being verified with the keys fetched before. Raise HeraldOptions.JwksFetchTimeout if the identity provider is slow.")]
    public static partial void JwksFetchTimedOut(ILogger logger, Uri url, TimeSpan timeout);

    [LoggerMessage(EventId = 504, Level = LogLevel.Warning,
        Message = "Fetching the JWKS at {Url} failed; tokens keep being verified with the keys fetched before. Check that the JWKS URL is reachable from the hub and serves a JSON key set.")]
    public static partial void JwksFetchFailed(ILogger logger, Exception exception, Uri url);

    [LoggerMessage(EventId = 505, Level = LogLevel.Warning,
        Message = "Mercure 1.0 access tokens are refused: no trusted issuer is configured. Set Herald:Issuer (herald serve --issuer ID) to the iss your tokens carry, so the hub's keys verify them, or list issuers with their own keys under Herald:Issuers:N:Id, Herald:Issuers:N:Publisher:JwtKey, Herald:Issuers:N:Subscriber:JwtKey (or :JwksUrl).")]
    public static partial void NoTrustedIssuer(ILogger logger);

    [LoggerMessage(EventId = 506, Level = LogLevel.Warning,
        Message = "Herald:Protocol is V1 and the hub-wide keys (Herald:PublisherJwtKey, SubscriberJwtKey, JWKS URLs) belong to no issuer, so they verify no token. Set Herald:Issuer (herald serve --issuer ID) to the issuer they belong to.")]
    public static partial void HubWideKeysUnused(ILogger logger);

    [LoggerMessage(EventId = 507, Level = LogLevel.Warning,
        Message = "The directory {Directory} of a key file cannot be watched ({Reason}); a change of the key is noticed within {Interval} instead of at once.")]
    public static partial void KeyDirectoryNotWatched(ILogger logger, string directory, TimeSpan interval, string reason);

    [LoggerMessage(EventId = 508, Level = LogLevel.Information,
        Message = "The key in {Path} ({Setting}) changed and is in use: tokens signed with the previous key are refused from now on; streams already open stay open.")]
    public static partial void KeyFileReloaded(ILogger logger, string path, string setting);

    [LoggerMessage(EventId = 509, Level = LogLevel.Warning,
        Message = "The key file {Path} ({Setting}) was not loaded: {Reason}. Tokens keep being verified with the key loaded before. Replace the file whole (write another file, then rename it over this one).")]
    public static partial void KeyFileRejected(ILogger logger, string path, string setting, string reason);
}
