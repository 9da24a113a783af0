using System.Net;

namespace Herald.Client;

/// <summary>A hub refused an update; <see cref="StatusCode"/> and <see cref="Reason"/> say why.</summary>
/// <remarks>
/// A Mercure hub answers 400 for an invalid update (no topic, a bad id, type or retry), 401 for a missing or invalid
/// token, 403 for a token not allowed to publish to a topic, 413 for a body too large and 503 when it cannot store the
/// update; its body carries a one-line reason.
/// </remarks>
public sealed class MercurePublishException : Exception
{
    /// <summary>Creates the exception for a refused publication.</summary>
    public MercurePublishException(string message, HttpStatusCode statusCode, string? reason)
        : base(message)
    {
        StatusCode = statusCode;
        Reason = reason;
    }

    /// <summary>The hub's response status.</summary>
    public HttpStatusCode StatusCode { get; }

    /// <summary>The hub's one-line explanation, when it gave one.</summary>
    public string? Reason { get; }
}
