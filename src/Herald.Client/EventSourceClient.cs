using System.Buffers;
using System.Net;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text;

namespace Herald.Client;

/// <summary>
/// An EventSource for .NET: reads a <c>text/event-stream</c> as the WHATWG standard describes, reconnecting with
/// <c>Last-Event-ID</c> so the caller sees one continuous sequence of events across dropped connections.
/// </summary>
/// <remarks>
/// <para>
/// Status handling differs from the standard in one deliberate way. A browser fails for good on any status but 200;
/// this client also retries 500, 502, 503 and 504 (and network errors, timeouts and ended streams), because for a
/// long-lived subscription those are the passing faults of a hub being restarted or overloaded, not a wrong request.
/// 204 ends the enumeration (the server's "stop reconnecting"); any other status, or a 200 whose content type is not
/// <c>text/event-stream</c>, ends it with an <see cref="EventSourceException"/>.
/// </para>
/// <para>
/// Reconnection waits the reconnection time (<see cref="EventSourceClientOptions.ReconnectDelay"/> or the server's
/// <c>retry</c>), doubled (from at least 100 ms) for each further consecutive failure up to <see cref="EventSourceClientOptions.MaxReconnectDelay"/>,
/// plus a random 0–25 % of the reconnection time so that clients dropped together do not return together. A
/// successful connection resets the count. After a redirect the client reconnects to the final URL; when a connection
/// attempt there fails, the next one starts again from <see cref="EventSourceClientOptions.Url"/>.
/// </para>
/// </remarks>
public sealed class EventSourceClient : IAsyncDisposable
{
    private const int ReadBufferSize = 16 * 1024;
    private const int MaxReasonBytes = 4 * 1024;

    // A backoff doubles from at least this, so a server that sets `retry: 0` and then fails is not hammered.
    private static readonly TimeSpan MinimumBackoff = TimeSpan.FromMilliseconds(100);

    // Task.Delay's upper limit; a `retry` beyond it means "practically never" anyway.
    private static readonly TimeSpan LongestDelay = TimeSpan.FromMilliseconds(int.MaxValue);

    private readonly EventSourceClientOptions _options;
    private readonly HttpClient _http;
    private readonly bool _ownsHttp;

    // Never disposed: an enumeration running on another thread may still link to its token after DisposeAsync.
    private readonly CancellationTokenSource _disposed = new();

    private Uri _url;
    private string _lastEventId;
    private TimeSpan _reconnectionTime;
    private int _reading;

    /// <summary>Creates a client; nothing is sent until <see cref="ReadAllAsync"/> is enumerated.</summary>
    public EventSourceClient(EventSourceClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(options.Url);
        ArgumentNullException.ThrowIfNull(options.Headers);
        if (!options.Url.IsAbsoluteUri)
        {
            throw new ArgumentException("The URL must be absolute.", nameof(options));
        }

        if (options.AccessToken is { } accessToken
            && (accessToken.Length == 0 || accessToken.AsSpan().ContainsAnyInRange('\u0000', '\u0020') || accessToken.Contains('\u007f', StringComparison.Ordinal)))
        {
            throw new ArgumentException("The access token must be non-empty, without spaces or control characters.", nameof(options));
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(options.ReconnectDelay, TimeSpan.Zero, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxReconnectDelay, TimeSpan.Zero, nameof(options));
        if (options.IdleTimeout <= TimeSpan.Zero && options.IdleTimeout != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "IdleTimeout must be positive or infinite.");
        }

        _options = options;
        _url = options.Url;
        _lastEventId = options.InitialLastEventId ?? string.Empty;
        _reconnectionTime = options.ReconnectDelay;
        if (options.HttpClient is { } http)
        {
            _http = http;
        }
        else
        {
            _http = CreateHttpClient();
            _ownsHttp = true;
        }
    }

    /// <summary>Raised, on the enumerating thread, each time a stream starts (first connection and every reconnection).</summary>
    public event EventHandler<EventSourceOpenedEventArgs>? Opened;

    /// <summary>
    /// Raised, on the enumerating thread, when a connection attempt fails or a stream ends: before waiting to retry,
    /// or before the enumeration throws when the failure is final.
    /// </summary>
    public event EventHandler<EventSourceErrorEventArgs>? Error;

    /// <summary>The last event id delivered (or committed by an event without data); reconnections resume from it.</summary>
    public string LastEventId => Volatile.Read(ref _lastEventId);

    /// <summary>
    /// Reads events until the server answers 204, the token is cancelled, or a final failure throws an
    /// <see cref="EventSourceException"/>. Dropped connections are reconnected in between without a gap. One enumeration
    /// at a time; a later one resumes after <see cref="LastEventId"/>.
    /// </summary>
    public async IAsyncEnumerable<SseMessage> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed.IsCancellationRequested, this);
        if (Interlocked.Exchange(ref _reading, 1) != 0)
        {
            throw new InvalidOperationException("This client is already being enumerated; read it from one place at a time.");
        }

        try
        {
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _disposed.Token);
            var token = linked.Token;
            using var parser = new SseParser(_lastEventId);
            var batch = new List<SseMessage>();
            var failures = 0;
            while (true)
            {
                using var idle = CancellationTokenSource.CreateLinkedTokenSource(token);
                var attempt = await ConnectAsync(idle, token).ConfigureAwait(false);
                var error = attempt.Error;
                if (attempt.Outcome == Outcome.Stop)
                {
                    yield break;
                }

                if (attempt.Outcome == Outcome.Fail)
                {
                    Error?.Invoke(this, new EventSourceErrorEventArgs(error!, willRetry: false, TimeSpan.Zero, failures + 1));
                    throw error!;
                }

                if (attempt.Outcome == Outcome.Open)
                {
                    failures = 0;
                    using var response = attempt.Response!;
                    var stream = attempt.Stream!;
                    parser.Reset();
                    Opened?.Invoke(this, new EventSourceOpenedEventArgs(_url, parser.LastEventId, attempt.ResumedAfter));
                    while (true)
                    {
                        var chunk = await ReadChunkAsync(stream, idle, token).ConfigureAwait(false);
                        if (chunk.Error is not null)
                        {
                            error = chunk.Error;
                            break;
                        }

                        try
                        {
                            parser.Parse(chunk.Buffer.AsSpan(0, chunk.Count), batch);
                        }
                        finally
                        {
                            ArrayPool<byte>.Shared.Return(chunk.Buffer);
                        }

                        if (parser.ReconnectionTime is { } reconnectionTime)
                        {
                            _reconnectionTime = reconnectionTime;
                        }

                        foreach (var message in batch)
                        {
                            // Advanced one message at a time so a caller that stops mid-batch resumes at the right place.
                            Volatile.Write(ref _lastEventId, message.LastEventId);
                            yield return message;
                        }

                        batch.Clear();
                        Volatile.Write(ref _lastEventId, parser.LastEventId);
                    }
                }

                failures++;
                var delay = NextDelay(failures);
                Error?.Invoke(this, new EventSourceErrorEventArgs(error!, willRetry: true, delay, failures));
                await Task.Delay(delay, token).ConfigureAwait(false);
            }
        }
        finally
        {
            Volatile.Write(ref _reading, 0);
        }
    }

    /// <summary>Stops a running enumeration (it throws <see cref="OperationCanceledException"/>) and releases the connection.</summary>
    public ValueTask DisposeAsync()
    {
        if (!_disposed.IsCancellationRequested)
        {
            _disposed.Cancel();
            if (_ownsHttp)
            {
                _http.Dispose();
            }
        }

        return ValueTask.CompletedTask;
    }

    private static HttpClient CreateHttpClient()
    {
        var handler = new SocketsHttpHandler
        {
            // Event ids are UTF-8 text; the default header encoding rejects non-Latin-1 characters, which would make
            // every reconnection after such an id fail.
            RequestHeaderEncodingSelector = static (name, _) =>
                string.Equals(name, "Last-Event-ID", StringComparison.OrdinalIgnoreCase) ? Encoding.UTF8 : null,
            ResponseHeaderEncodingSelector = static (name, _) =>
                name.EndsWith("Last-Event-ID", StringComparison.OrdinalIgnoreCase) ? Encoding.UTF8 : null,
            AutomaticDecompression = DecompressionMethods.None,
        };

        // The idle timeout bounds every wait, so HttpClient's own overall timeout would only cut healthy streams.
        return new HttpClient(handler, disposeHandler: true) { Timeout = Timeout.InfiniteTimeSpan };
    }

    private TimeSpan NextDelay(int failures)
    {
        var retry = _reconnectionTime;
        var wait = retry;
        if (failures > 1)
        {
            var ceiling = Math.Max(_options.MaxReconnectDelay.TotalMilliseconds, retry.TotalMilliseconds);
            var grown = (retry > MinimumBackoff ? retry : MinimumBackoff).TotalMilliseconds * Math.Pow(2, Math.Min(failures - 1, 30));
            wait = TimeSpan.FromMilliseconds(Math.Min(grown, ceiling));
        }

        wait += retry * (0.25 * Random.Shared.NextDouble());
        return wait < LongestDelay ? wait : LongestDelay;
    }

    private async Task<Attempt> ConnectAsync(CancellationTokenSource idle, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, _url);
        request.Headers.TryAddWithoutValidation("Accept", "text/event-stream");
        request.Headers.CacheControl = new CacheControlHeaderValue { NoCache = true };
        foreach (var (name, value) in _options.Headers)
        {
            if (_options.AccessToken is null || !string.Equals(name, "Authorization", StringComparison.OrdinalIgnoreCase))
            {
                request.Headers.TryAddWithoutValidation(name, value);
            }
        }

        if (_options.AccessToken is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _options.AccessToken);
        }

        var lastEventId = Volatile.Read(ref _lastEventId);
        if (lastEventId.Length > 0)
        {
            request.Headers.TryAddWithoutValidation("Last-Event-ID", lastEventId);
        }

        HttpResponseMessage? response = null;
        try
        {
            idle.CancelAfter(_options.IdleTimeout);
            response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, idle.Token).ConfigureAwait(false);
            var status = response.StatusCode;
            var mediaType = response.Content.Headers.ContentType?.MediaType;
            if (status == HttpStatusCode.NoContent)
            {
                response.Dispose();
                return new Attempt(Outcome.Stop);
            }

            if (status != HttpStatusCode.OK)
            {
                var challenge = BearerChallenge.From(response.Headers);
                var reason = await ReadReasonAsync(response, idle.Token).ConfigureAwait(false) ?? challenge?.Description;
                cancellationToken.ThrowIfCancellationRequested();
                var failure = new EventSourceException(
                    ResponseReason.Describe("The server answered", status, response.ReasonPhrase, ResponseReason.WithError(reason, challenge?.Error)),
                    status,
                    mediaType,
                    reason,
                    challenge?.Error);
                response.Dispose();
                return IsRetryable(status) ? Retry(failure) : new Attempt(Outcome.Fail, Error: failure);
            }

            if (!string.Equals(mediaType, "text/event-stream", StringComparison.OrdinalIgnoreCase))
            {
                response.Dispose();
                return new Attempt(
                    Outcome.Fail,
                    Error: new EventSourceException(
                        $"The server answered with content type '{mediaType}', not text/event-stream.",
                        status,
                        mediaType,
                        reason: null));
            }

            var stream = await response.Content.ReadAsStreamAsync(idle.Token).ConfigureAwait(false);

            // Reconnections go straight to where the redirects led.
            _url = response.RequestMessage?.RequestUri ?? _url;
            return new Attempt(Outcome.Open, response, stream, ResumedAfter: ResumedAfter(response));
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            response?.Dispose();
            throw;
        }
        catch (OperationCanceledException e)
        {
            // Either the idle timeout or an injected HttpClient's Timeout.
            response?.Dispose();
            return Retry(new TimeoutException("The server sent no response in time.", e));
        }
        catch (HttpRequestException e)
        {
            response?.Dispose();
            return Retry(e);
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException)
        {
            // SocketsHttpHandler lets a bare SocketException out when a connection is reset right after it was accepted
            // (it asks the socket for its remote end; measured in a reconnect storm: a balancer accepts, finds its backend
            // gone and resets): a passing fault like any other, or the subscription would end for good.
            response?.Dispose();
            return Retry(e);
        }
    }

    private Attempt Retry(Exception error)
    {
        // The attempt failed: a redirect target may be gone, so the next attempt asks the original URL again.
        _url = _options.Url;
        return new Attempt(Outcome.Retry, Error: error);
    }

    /// <summary>Mercure 1.0's <c>Mercure-Last-Event-ID</c>, else the <c>Last-Event-ID</c> 0.x hubs answer with; one value or none.</summary>
    private static string? ResumedAfter(HttpResponseMessage response)
    {
        foreach (var name in (ReadOnlySpan<string>)["Mercure-Last-Event-ID", "Last-Event-ID"])
        {
            if (response.Headers.NonValidated.TryGetValues(name, out var values) && values.Count == 1)
            {
                foreach (var value in values)
                {
                    // A value with control characters is no event id a hub sends; callers print this.
                    return value.AsSpan().ContainsAnyInRange('\u0000', '\u001f') || value.Contains('\u007f', StringComparison.Ordinal) ? null : value;
                }
            }
        }

        return null;
    }

    private static bool IsRetryable(HttpStatusCode status) => status is HttpStatusCode.InternalServerError
        or HttpStatusCode.BadGateway or HttpStatusCode.ServiceUnavailable or HttpStatusCode.GatewayTimeout;

    private async Task<Chunk> ReadChunkAsync(Stream stream, CancellationTokenSource idle, CancellationToken cancellationToken)
    {
        byte[]? buffer = null;
        var handedOver = false;
        try
        {
            idle.CancelAfter(_options.IdleTimeout);

            // Wait for data before renting a buffer, so a quiet stream holds none.
            await stream.ReadAsync(Memory<byte>.Empty, idle.Token).ConfigureAwait(false);
            buffer = ArrayPool<byte>.Shared.Rent(ReadBufferSize);
            var count = await stream.ReadAsync(buffer, idle.Token).ConfigureAwait(false);
            if (count == 0)
            {
                return new Chunk([], 0, new EventSourceException("The server ended the stream.", HttpStatusCode.OK, "text/event-stream", reason: null));
            }

            handedOver = true;
            return new Chunk(buffer, count, null);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            return new Chunk([], 0, new TimeoutException($"The server sent nothing for {_options.IdleTimeout}.", e));
        }
        catch (Exception e) when (e is IOException or HttpRequestException or System.Net.Sockets.SocketException)
        {
            return new Chunk([], 0, e);
        }
        finally
        {
            if (!handedOver && buffer is not null)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }

    /// <summary>The reason a hub gave in an error body; null when there is none or it cannot be read in time.</summary>
    private static async Task<string?> ReadReasonAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            await using (stream.ConfigureAwait(false))
            {
                var buffer = new byte[MaxReasonBytes];
                var length = 0;
                int read;
                while (length < buffer.Length
                    && (read = await stream.ReadAsync(buffer.AsMemory(length), cancellationToken).ConfigureAwait(false)) > 0)
                {
                    length += read;
                }

                return ResponseReason.Extract(buffer.AsSpan(0, length), response.Content.Headers.ContentType?.MediaType);
            }
        }
        catch (Exception e) when (e is IOException or HttpRequestException or OperationCanceledException)
        {
            // The status already says what failed; a reason is a bonus not worth failing (or waiting) for.
            return null;
        }
    }

    private enum Outcome
    {
        Open,
        Stop,
        Retry,
        Fail,
    }

    private readonly record struct Attempt(
        Outcome Outcome, HttpResponseMessage? Response = null, Stream? Stream = null, Exception? Error = null, string? ResumedAfter = null);

    private readonly record struct Chunk(byte[] Buffer, int Count, Exception? Error);
}
