using System.Globalization;
using System.Net.Http.Headers;

namespace Herald.Client;

/// <summary>
/// Publishes updates to a Mercure hub with <c>POST</c>, the token in an <c>Authorization: Bearer</c> header: a Mercure
/// 1.0 access token (<c>typ: at+jwt</c>, <c>authorization_details</c> granting <c>publish</c>), or a 0.x token with
/// the <c>mercure</c> claim for hubs that accept them.
/// </summary>
public sealed class MercurePublisher : IDisposable
{
    private readonly Uri _hubUrl;
    private readonly string? _token;
    private readonly HttpClient _http;
    private readonly bool _ownsHttp;

    /// <summary>Creates a publisher.</summary>
    /// <param name="hubUrl">The hub URL, usually ending in <c>/.well-known/mercure</c>.</param>
    /// <param name="token">The JWT sent as <c>Authorization: Bearer</c>; <c>null</c> sends no header.</param>
    /// <param name="httpClient">The client to send with; <c>null</c> creates (and disposes) one.</param>
    public MercurePublisher(Uri hubUrl, string? token = null, HttpClient? httpClient = null)
    {
        ArgumentNullException.ThrowIfNull(hubUrl);
        if (!hubUrl.IsAbsoluteUri)
        {
            throw new ArgumentException("The hub URL must be absolute.", nameof(hubUrl));
        }

        _hubUrl = hubUrl;
        _token = string.IsNullOrEmpty(token) ? null : token;
        _http = httpClient ?? new HttpClient();
        _ownsHttp = httpClient is null;
    }

    /// <summary>Publishes an update and returns the id the hub gave it.</summary>
    /// <exception cref="MercurePublishException">The hub answered anything but success.</exception>
    /// <exception cref="HttpRequestException">The hub could not be reached.</exception>
    public async Task<string> PublishAsync(PublishRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        using var content = new FormUrlEncodedContent(ToForm(request));
        using var message = new HttpRequestMessage(HttpMethod.Post, _hubUrl) { Content = content };
        if (_token is not null)
        {
            message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _token);
        }

        using var response = await _http.SendAsync(message, cancellationToken).ConfigureAwait(false);
        var body = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        if (response.IsSuccessStatusCode)
        {
            // Mercure 1.0: 200 with the id as text/plain; charset=utf-8. 0.x hubs sent the same body, some with a newline.
            return System.Text.Encoding.UTF8.GetString(body).TrimEnd('\r', '\n');
        }

        var challenge = BearerChallenge.From(response.Headers);
        var reason = ResponseReason.Extract(body, response.Content.Headers.ContentType?.MediaType) ?? challenge?.Description;
        throw new MercurePublishException(
            ResponseReason.Describe("The hub refused the update:", response.StatusCode, response.ReasonPhrase, ResponseReason.WithError(reason, challenge?.Error)),
            response.StatusCode,
            reason,
            challenge?.Error,
            challenge?.ResourceMetadata);
    }

    /// <summary>Disposes the HTTP client if this publisher created it.</summary>
    public void Dispose()
    {
        if (_ownsHttp)
        {
            _http.Dispose();
        }
    }

    private static List<KeyValuePair<string, string>> ToForm(PublishRequest request)
    {
        if (request.Topics is null || request.Topics.Count == 0)
        {
            throw new ArgumentException("An update needs at least one topic.", nameof(request));
        }

        var form = new List<KeyValuePair<string, string>>(request.Topics.Count + 5);
        foreach (var topic in request.Topics)
        {
            form.Add(new("topic", topic ?? throw new ArgumentException("A topic must not be null.", nameof(request))));
        }

        if (request.Data is not null)
        {
            form.Add(new("data", request.Data));
        }

        if (request.Private)
        {
            // The hub only looks at whether the field is present.
            form.Add(new("private", "on"));
        }

        if (request.EventId is not null)
        {
            form.Add(new("id", request.EventId));
        }

        if (request.EventType is not null)
        {
            form.Add(new("type", request.EventType));
        }

        if (request.ReconnectionInterval is { } retry)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(retry, TimeSpan.Zero, nameof(request));
            form.Add(new("retry", ((long)retry.TotalMilliseconds).ToString(CultureInfo.InvariantCulture)));
        }

        return form;
    }
}
