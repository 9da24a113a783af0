using System.Net;
using System.Threading.Channels;
using Herald.Client;
using Herald.Security;
using Herald.Tests.Infrastructure;

namespace Herald.Tests.Client;

/// <summary>
/// <see cref="EventSourceClient"/> against the real hub: the hub ends the stream (its write timeout, or a restart) and the
/// client resumes with <c>Last-Event-ID</c>; the hub replays what was published meanwhile, so the caller sees every
/// update once, in order.
/// </summary>
/// <remarks>
/// The hub never answers 204, 5xx or <c>text/html</c> on purpose, so those rules (204 ends the enumeration, 5xx is
/// retried with growing delays, another content type fails for good) are tested against a small Kestrel app that does,
/// in tests/Herald.Client.Tests/EventSourceClientTests.cs; a 401 from the hub is covered here.
/// </remarks>
public sealed class EventSourceClientHubTests
{
    private const string Topic = "https://example.com/books/1";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task When_the_write_timeout_ends_the_stream_the_client_resumes_with_no_gap_and_no_duplicate()
    {
        // The hub's clock is skipped past the write timeout once the first updates have arrived: the stream ends
        // exactly there, however slow the machine, and the client must resume after the last of them.
        var clock = new SkippingClock();
        await using var hub = await TestHub.StartAsync(new Dictionary<string, string?> { ["Herald:WriteTimeout"] = "00:10:00" }, clock);
        await using var subscription = await Subscription.OpenAsync(hub.HubUrl);
        var before = await PublishAsync(hub, "before", 3);
        await subscription.AssertNextAsync(before);

        clock.Skip(TimeSpan.FromMinutes(11));
        Assert.Equal(before[^1], await subscription.Gate.HeldReconnection.WaitAsync(Timeout));
        var away = await PublishAsync(hub, "away", 3);
        subscription.Gate.Release();
        var after = await PublishAsync(hub, "after", 3);

        await subscription.AssertNextAsync([.. away, .. after]);
        await subscription.AssertNextAsync(await PublishAsync(hub, "last", 1));
    }

    [Fact]
    public async Task After_a_hub_restart_the_client_resumes_from_the_stored_history_with_no_gap_and_no_duplicate()
    {
        // The client's address stays bound across the restart (a forwarder), rather than a port released and bound again.
        var settings = new Dictionary<string, string?>
        {
            ["Herald:DataDir"] = Path.Combine(Path.GetTempPath(), "herald-tests", Guid.NewGuid().ToString("N")),
        };
        await using var address = new LoopbackForwarder();
        var first = await TestHub.StartAsync(settings);
        var firstStopped = false;
        try
        {
            address.ForwardTo(new Uri(first.BaseUrl).Port);
            await using var subscription = await Subscription.OpenAsync(address.BaseUrl + "/.well-known/mercure");
            var before = await PublishAsync(first, "before", 3);
            await subscription.AssertNextAsync(before);

            // Stopping closes the stream cleanly; the client's reconnection waits until the second hub has updates.
            firstStopped = true;
            address.ForwardTo(0);
            await first.DisposeAsync();
            Assert.Equal(before[^1], await subscription.Gate.HeldReconnection.WaitAsync(Timeout));

            await using var second = await TestHub.StartAsync(settings);
            address.ForwardTo(new Uri(second.BaseUrl).Port);
            var away = await PublishAsync(second, "away", 3);
            subscription.Gate.Release();
            var after = await PublishAsync(second, "after", 3);

            await subscription.AssertNextAsync([.. away, .. after]);
            await subscription.AssertNextAsync(await PublishAsync(second, "last", 1));
        }
        finally
        {
            if (!firstStopped)
            {
                await first.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task A_token_the_hub_refuses_fails_for_good_with_the_hubs_reason()
    {
        await using var hub = await TestHub.StartAsync();
        var forged = TokenIssuer.Create("not-the-hub-key-0123456789-0123456789", null, ["*"], TimeSpan.FromHours(1));
        await using var client = new EventSourceClient(new EventSourceClientOptions
        {
            Url = new Uri(hub.HubUrl + "?topic=" + Uri.EscapeDataString(Topic)),
            Headers = new Dictionary<string, string> { ["Authorization"] = "Bearer " + forged },
        });
        var errors = new List<EventSourceErrorEventArgs>();
        client.Error += (_, e) => errors.Add(e);
        using var timeout = new CancellationTokenSource(Timeout);

        var failure = await Assert.ThrowsAsync<EventSourceException>(async () =>
        {
            await foreach (var message in client.ReadAllAsync(timeout.Token))
            {
                Assert.Fail("no event expected, got " + message);
            }
        });

        Assert.Equal(HttpStatusCode.Unauthorized, failure.StatusCode);
        Assert.StartsWith("invalid subscriber token", failure.Reason, StringComparison.Ordinal);
        Assert.False(Assert.Single(errors).WillRetry);
    }

    [Fact]
    public async Task A_connection_reset_as_it_is_accepted_is_retried_like_any_dropped_connection()
    {
        // SocketsHttpHandler lets a bare SocketException (ENOTCONN) out when the peer resets a connection it has just
        // accepted, as a balancer does whose backend is gone; it ended the enumeration for good in a reconnect storm.
        await using var hub = await TestHub.StartAsync();
        using var http = new HttpClient(new ResetOnce()) { Timeout = System.Threading.Timeout.InfiniteTimeSpan };
        await using var client = new EventSourceClient(new EventSourceClientOptions
        {
            Url = new Uri(hub.HubUrl + "?topic=" + Uri.EscapeDataString(Topic)),
            Headers = new Dictionary<string, string> { ["Authorization"] = "Bearer " + TestHub.SubscriberToken() },
            InitialLastEventId = "earliest",
            ReconnectDelay = TimeSpan.FromMilliseconds(50),
            HttpClient = http,
        });
        var errors = new List<EventSourceErrorEventArgs>();
        client.Error += (_, e) => errors.Add(e);
        var published = await PublishAsync(hub, "stored", 2);
        using var timeout = new CancellationTokenSource(Timeout);

        var received = new List<string>();
        await foreach (var message in client.ReadAllAsync(timeout.Token))
        {
            received.Add(message.LastEventId);
            if (received.Count == published.Length)
            {
                break;
            }
        }

        Assert.Equal(published, received);
        var error = Assert.Single(errors);
        Assert.True(error.WillRetry);
        Assert.IsType<System.Net.Sockets.SocketException>(error.Exception);
    }

    private static async Task<string[]> PublishAsync(TestHub hub, string prefix, int count)
    {
        var ids = new string[count];
        for (var i = 0; i < count; i++)
        {
            ids[i] = await hub.PublishAsync(Topic, $"{prefix}-{i}");
        }

        return ids;
    }

    /// <summary>An enumeration of the client running in the background, its events queued for the test to read.</summary>
    private sealed class Subscription : IAsyncDisposable
    {
        private readonly EventSourceClient _client;
        private readonly HttpClient _http;
        private readonly Channel<SseMessage> _messages = Channel.CreateUnbounded<SseMessage>();
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _pump;

        private Subscription(string hubUrl, TaskCompletionSource opened)
        {
            Gate = new ReconnectionGate();
            _http = new HttpClient(Gate) { Timeout = System.Threading.Timeout.InfiniteTimeSpan };
            _client = new EventSourceClient(new EventSourceClientOptions
            {
                Url = new Uri(hubUrl + "?topic=" + Uri.EscapeDataString(Topic)),
                Headers = new Dictionary<string, string> { ["Authorization"] = "Bearer " + TestHub.SubscriberToken() },
                ReconnectDelay = TimeSpan.FromMilliseconds(50),
                HttpClient = _http,
            });
            _client.Opened += (_, _) => opened.TrySetResult();
            _pump = PumpAsync();
        }

        public ReconnectionGate Gate { get; }

        /// <summary>Starts reading; returns once the first stream is open, so the hub has registered the subscriber.</summary>
        public static async Task<Subscription> OpenAsync(string hubUrl)
        {
            var opened = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var subscription = new Subscription(hubUrl, opened);
            try
            {
                await Task.WhenAny(opened.Task, subscription._pump).WaitAsync(Timeout);
                if (!opened.Task.IsCompleted)
                {
                    await subscription._pump; // Throws what ended the enumeration.
                }

                return subscription;
            }
            catch
            {
                await subscription.DisposeAsync();
                throw;
            }
        }

        /// <summary>Reads as many events as there are ids and checks that they are exactly those updates, in order.</summary>
        public async Task AssertNextAsync(IReadOnlyList<string> ids)
        {
            var received = new List<string>();
            using var timeout = new CancellationTokenSource(Timeout);
            try
            {
                while (received.Count < ids.Count)
                {
                    var message = await _messages.Reader.ReadAsync(timeout.Token);
                    received.Add(message.LastEventId);
                }
            }
            catch (OperationCanceledException) when (timeout.IsCancellationRequested)
            {
                Assert.Fail($"received {received.Count} of {ids.Count} updates within {Timeout.TotalSeconds} s: {string.Join(", ", received)}");
            }
            catch (ChannelClosedException e)
            {
                Assert.Fail($"the enumeration ended after {received.Count} of {ids.Count} updates: {e.InnerException}");
            }

            Assert.Equal(ids, received);
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _pump.ContinueWith(static _ => { }, TaskScheduler.Default).WaitAsync(Timeout);
            await _client.DisposeAsync();
            _http.Dispose();
            _stop.Dispose();
        }

        private async Task PumpAsync()
        {
            try
            {
                await foreach (var message in _client.ReadAllAsync(_stop.Token))
                {
                    _messages.Writer.TryWrite(message);
                }

                _messages.Writer.TryComplete();
            }
            catch (Exception e)
            {
                _messages.Writer.TryComplete(e);
                throw;
            }
        }
    }

    /// <summary>Fails the first request as SocketsHttpHandler does when the connection is reset as soon as it was accepted.</summary>
    private sealed class ResetOnce() : DelegatingHandler(new SocketsHttpHandler())
    {
        private int _requests;

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            Interlocked.Increment(ref _requests) == 1
                ? Task.FromException<HttpResponseMessage>(new System.Net.Sockets.SocketException((int)System.Net.Sockets.SocketError.NotConnected))
                : base.SendAsync(request, cancellationToken);
    }

    /// <summary>
    /// Holds the client's first reconnection until the test has published the updates it should find in the hub's
    /// history, so they cannot arrive live by luck of timing.
    /// </summary>
    private sealed class ReconnectionGate() : DelegatingHandler(new SocketsHttpHandler())
    {
        private readonly TaskCompletionSource<string?> _held = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _requests;

        /// <summary>Completes with the <c>Last-Event-ID</c> of the first reconnection, which waits for <see cref="Release"/>.</summary>
        public Task<string?> HeldReconnection => _held.Task;

        public void Release() => _release.TrySetResult();

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (Interlocked.Increment(ref _requests) == 2)
            {
                _held.TrySetResult(request.Headers.TryGetValues("Last-Event-ID", out var values) ? values.Single() : null);
                await _release.Task.WaitAsync(cancellationToken);
            }

            return await base.SendAsync(request, cancellationToken);
        }
    }
}
