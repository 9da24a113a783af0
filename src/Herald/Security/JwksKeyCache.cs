using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.Tokens;

namespace Herald.Security;

/// <summary>
/// The signing keys published at a JWKS URL, fetched on first use and cached. Keys are fetched again when
/// they are an hour old, or sooner when a token names a key id the cache does not know (a key rotation), but
/// never more often than every <see cref="MinRefreshInterval"/>: tokens with made-up key ids cannot turn the
/// hub into a flood of requests against the identity provider.
/// </summary>
/// <remarks>
/// A hand-rolled cache rather than <c>ConfigurationManager&lt;T&gt;</c>: since 8.x that type refreshes in the
/// background and hands back the stale keys to the caller that asked for the refresh, so the first token signed
/// with a rotated key would be refused. Here the caller that triggers a fetch waits for it.
/// </remarks>
internal sealed class JwksKeyCache
{
    /// <summary>Keys this old are fetched again even when every token still finds its key.</summary>
    internal static readonly TimeSpan RefreshInterval = TimeSpan.FromHours(1);

    /// <summary>Least time between two fetches, whatever asks for them (failures included).</summary>
    internal static readonly TimeSpan MinRefreshInterval = TimeSpan.FromSeconds(30);

    /// <summary>A key set is a few kilobytes; a bigger answer is a misconfigured URL, not keys. <see cref="SecurityLog.JwksDocumentTooLarge"/> names this limit.</summary>
    private const int MaxDocumentBytes = 1024 * 1024;

    private readonly Uri _url;
    private readonly Func<HttpClient> _httpClient;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    /// <summary>
    /// How long one fetch may take, connecting and reading included. Requests for this audience wait behind a
    /// fetch (the gate), so this bounds how long a hung identity provider can hold them before they get a 401.
    /// </summary>
    private readonly TimeSpan _fetchTimeout;
    private readonly SemaphoreSlim _fetchGate = new(1, 1);

    private volatile Snapshot? _snapshot;

    /// <summary>When the last fetch started, successful or not, in UTC ticks (read without the gate).</summary>
    private long _lastAttemptTicks = DateTimeOffset.MinValue.UtcTicks;

    public JwksKeyCache(Uri url, Func<HttpClient> httpClient, TimeProvider time, TimeSpan fetchTimeout, ILogger logger)
    {
        if (fetchTimeout <= TimeSpan.Zero || fetchTimeout == Timeout.InfiniteTimeSpan)
        {
            throw new InvalidOperationException(
                $"{HeraldOptions.SectionName}:{nameof(HeraldOptions.JwksFetchTimeout)} must be a positive time span, not '{fetchTimeout}'.");
        }

        _fetchTimeout = fetchTimeout;
        _url = url;
        _httpClient = httpClient;
        _time = time;
        _logger = logger;
    }

    /// <summary>Whether a fetch has ever succeeded (an empty key set counts).</summary>
    public bool HasKeys => _snapshot is not null;

    /// <summary>The cached keys, fetched first when none are cached yet or they are due for a refresh.</summary>
    public ValueTask<IReadOnlyList<SecurityKey>> GetKeysAsync(CancellationToken cancellationToken)
    {
        var snapshot = _snapshot;
        if (snapshot is not null && !IsDue(snapshot, unknownKeyId: false))
        {
            return new ValueTask<IReadOnlyList<SecurityKey>>(snapshot.Keys);
        }

        return FetchIfDueAsync(unknownKeyId: false, cancellationToken);
    }

    /// <summary>
    /// Called when a token's key id is not among <paramref name="current"/>: fetches the keys again unless a
    /// fetch happened too recently. Returns the new keys, or <c>null</c> when nothing changed.
    /// </summary>
    public async ValueTask<IReadOnlyList<SecurityKey>?> RefreshForUnknownKeyAsync(
        IReadOnlyList<SecurityKey> current,
        CancellationToken cancellationToken)
    {
        var keys = await FetchIfDueAsync(unknownKeyId: true, cancellationToken).ConfigureAwait(false);
        return ReferenceEquals(keys, current) ? null : keys;
    }

    private bool IsDue(Snapshot? snapshot, bool unknownKeyId)
    {
        var now = _time.GetUtcNow();
        var lastAttempt = new DateTimeOffset(Interlocked.Read(ref _lastAttemptTicks), TimeSpan.Zero);
        if (now - lastAttempt < MinRefreshInterval)
        {
            return false;
        }

        return snapshot is null || unknownKeyId || now - snapshot.FetchedAt >= RefreshInterval;
    }

    private async ValueTask<IReadOnlyList<SecurityKey>> FetchIfDueAsync(bool unknownKeyId, CancellationToken cancellationToken)
    {
        await _fetchGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // Checked again under the gate: callers queued behind a fetch use its result instead of repeating it.
            var snapshot = _snapshot;
            if (!IsDue(snapshot, unknownKeyId))
            {
                return snapshot?.Keys ?? [];
            }

            var started = _time.GetUtcNow();
            Interlocked.Exchange(ref _lastAttemptTicks, started.UtcTicks);
            var keys = await TryFetchAsync(cancellationToken).ConfigureAwait(false);
            if (keys is null)
            {
                // Stale keys beat no keys: tokens signed with them keep working while the provider is down.
                return snapshot?.Keys ?? [];
            }

            _snapshot = new Snapshot(keys, started);
            return keys;
        }
        finally
        {
            _fetchGate.Release();
        }
    }

    private async Task<SecurityKey[]?> TryFetchAsync(CancellationToken cancellationToken)
    {
        // On the hub's clock, like every other interval here. Not HttpClient.Timeout: the factory's client is shared
        // with whatever else the app configures, and its 100 s default would hold every waiting request as long.
        using var deadline = new CancellationTokenSource(_fetchTimeout, _time);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        try
        {
            var client = _httpClient();
            using var response = await client
                .GetAsync(_url, HttpCompletionOption.ResponseHeadersRead, timeout.Token)
                .ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                SecurityLog.JwksHttpError(_logger, _url, (int)response.StatusCode);
                return null;
            }

            var json = await ReadLimitedAsync(response.Content, timeout.Token).ConfigureAwait(false);
            if (json is null)
            {
                SecurityLog.JwksDocumentTooLarge(_logger, _url);
                return null;
            }

            var keys = Usable(new JsonWebKeySet(json).GetSigningKeys());
            if (keys.Length == 0)
            {
                SecurityLog.JwksHasNoUsableKey(_logger, _url);
            }

            return keys;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            SecurityLog.JwksFetchTimedOut(_logger, _url, _fetchTimeout);
            return null;
        }
        catch (Exception ex) when (ex is HttpRequestException or ArgumentException or System.Text.Json.JsonException)
        {
            // JsonWebKeySet reports an unreadable document as an ArgumentException.
            SecurityLog.JwksFetchFailed(_logger, ex, _url);
            return null;
        }
    }

    /// <summary>
    /// Only asymmetric keys: a JWKS document is public, so a symmetric (<c>oct</c>) key in it is a secret anyone
    /// can read, and honouring it would let anyone mint tokens.
    /// </summary>
    private static SecurityKey[] Usable(IList<SecurityKey> keys) =>
        [.. keys.Where(static k => k is not SymmetricSecurityKey
            && !(k is JsonWebKey jwk && string.Equals(jwk.Kty, JsonWebAlgorithmsKeyTypes.Octet, StringComparison.Ordinal)))];

    private static async Task<string?> ReadLimitedAsync(HttpContent content, CancellationToken cancellationToken)
    {
        if (content.Headers.ContentLength > MaxDocumentBytes)
        {
            return null;
        }

        var stream = await content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            using var buffer = new MemoryStream();
            var chunk = new byte[16 * 1024];
            int read;
            while ((read = await stream.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
            {
                if (buffer.Length + read > MaxDocumentBytes)
                {
                    return null;
                }

                buffer.Write(chunk, 0, read);
            }

            return System.Text.Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
        }
    }

    private sealed record Snapshot(IReadOnlyList<SecurityKey> Keys, DateTimeOffset FetchedAt);
}
