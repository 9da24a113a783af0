using System.Net;

namespace Herald.Client;

/// <summary>
/// A stream that could not be used: a status other than 200, or a content type other than <c>text/event-stream</c>
/// (thrown from the enumeration when it is final); also reported, with retrying, when the server ended the stream or
/// answered a retryable 5xx.
/// </summary>
public sealed class EventSourceException : Exception
{
    /// <summary>Creates an exception describing a response the client cannot stream.</summary>
    public EventSourceException(string message, HttpStatusCode? statusCode, string? contentType, string? reason)
        : this(message, statusCode, contentType, reason, bearerError: null)
    {
    }

    /// <summary>Creates an exception describing a response the client cannot stream, with the RFC 6750 error code it carried.</summary>
    public EventSourceException(string message, HttpStatusCode? statusCode, string? contentType, string? reason, string? bearerError)
        : base(message)
    {
        StatusCode = statusCode;
        ContentType = contentType;
        Reason = reason;
        BearerError = bearerError;
    }

    /// <summary>The response status, when there was a response.</summary>
    public HttpStatusCode? StatusCode { get; }

    /// <summary>The response's media type, when there was one.</summary>
    public string? ContentType { get; }

    /// <summary>The first line of the response body of a failed request (a Mercure hub explains its 4xx there).</summary>
    public string? Reason { get; }

    /// <summary>
    /// The RFC 6750 <c>error</c> code of a 401/403's <c>WWW-Authenticate: Bearer</c> challenge (a Mercure 1.0 hub sends
    /// <c>invalid_token</c> or <c>insufficient_scope</c>), or <c>null</c> when there was none.
    /// </summary>
    public string? BearerError { get; }
}
