using System.Net;

namespace Herald.Client;

/// <summary>A hub refused an update; <see cref="StatusCode"/>, <see cref="BearerError"/> and <see cref="Reason"/> say why.</summary>
/// <remarks>
/// A Mercure hub answers 400 for an invalid update (no topic, a bad id, type or retry, a reserved topic), 401 for a
/// missing or invalid token, 403 for a token not allowed to publish to every topic, 413 for a body too large and 503
/// when it cannot store the update. A Mercure 1.0 hub says which token problem it was in an RFC 6750
/// <c>WWW-Authenticate: Bearer</c> challenge: <c>invalid_token</c> (401), <c>insufficient_scope</c> (403) or
/// <c>invalid_request</c> (400); its body may carry a one-line reason.
/// </remarks>
public sealed class MercurePublishException : Exception
{
    /// <summary>Creates the exception for a refused publication.</summary>
    public MercurePublishException(string message, HttpStatusCode statusCode, string? reason)
        : this(message, statusCode, reason, bearerError: null, resourceMetadata: null)
    {
    }

    /// <summary>Creates the exception for a refused publication, with the hub's RFC 6750 challenge.</summary>
    public MercurePublishException(string message, HttpStatusCode statusCode, string? reason, string? bearerError, string? resourceMetadata)
        : base(message)
    {
        StatusCode = statusCode;
        Reason = reason;
        BearerError = bearerError;
        ResourceMetadata = resourceMetadata;
    }

    /// <summary>The hub's response status.</summary>
    public HttpStatusCode StatusCode { get; }

    /// <summary>The hub's one-line explanation, when it gave one.</summary>
    public string? Reason { get; }

    /// <summary>
    /// The RFC 6750 <c>error</c> code of the hub's <c>WWW-Authenticate: Bearer</c> challenge — <c>invalid_token</c>,
    /// <c>insufficient_scope</c> or <c>invalid_request</c> — or <c>null</c> when it sent none (no token was
    /// presented, or a 0.x hub).
    /// </summary>
    public string? BearerError { get; }

    /// <summary>The challenge's <c>resource_metadata</c>: where the hub describes the tokens it accepts (RFC 9728).</summary>
    public string? ResourceMetadata { get; }
}
