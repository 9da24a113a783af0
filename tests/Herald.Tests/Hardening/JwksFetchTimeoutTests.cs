using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Herald.Tests.Infrastructure;
using static Herald.Tests.Security.TestTokens;

namespace Herald.Tests.Hardening;

/// <summary>
/// A JWKS URL whose server accepts the connection and never answers: a request that needs its keys gets a 401
/// once <c>Herald:JwksFetchTimeout</c> passes, and the hub serves everything else meanwhile.
/// </summary>
public sealed class JwksFetchTimeoutTests
{
    private const string Topic = "https://example.com/jwks-hang";

    /// <summary>
    /// Under the 10 s default: a hub that ignored the configured 1 s would miss it. Nine seconds of slack for a
    /// loaded machine to run a 1 s timer and answer one request.
    /// </summary>
    private static readonly TimeSpan WellUnderTheDefault = TimeSpan.FromSeconds(9);

    [Fact]
    public async Task A_hung_jwks_costs_a_subscriber_and_a_publisher_the_fetch_timeout_then_a_401_and_others_are_served_meanwhile()
    {
        await using var jwks = HangingServer.Start();
        await using var hub = await TestHub.StartAsync(new Dictionary<string, string?>
        {
            ["Herald:Anonymous"] = "true",
            ["Herald:SubscriberJwksUrl"] = jwks.Url,
            ["Herald:PublisherJwksUrl"] = jwks.Url,
            ["Herald:JwksFetchTimeout"] = "00:00:01",
        });
        using var rsa = RSA.Create(2048);

        // Started first; their clocks run from here.
        var subscribe = SubscribeAsync(hub, Rs256(rsa, Payload("""{"subscribe":["*"]}"""), kid: "k")).WaitAsync(WellUnderTheDefault);
        var publish = PublishAsync(hub, Rs256(rsa, Payload("""{"publish":["*"]}"""), kid: "k")).WaitAsync(WellUnderTheDefault);
        await jwks.Accepted.Task.WaitAsync(TimeSpan.FromSeconds(30));

        // While a fetch hangs: an anonymous subscriber and a publisher with the static key are served.
        await using var reader = await hub.SubscribeAsync("topic=" + Uri.EscapeDataString(Topic));
        await TestHub.Eventually(() => hub.Hub.SubscriberCount == 1, "the anonymous subscriber", 30_000);
        await hub.PublishAsync(Topic, "meanwhile");
        Assert.Equal("meanwhile", (await reader.NextAsync(30_000))?.Data);

        var (subscribeStatus, subscribeReason) = await subscribe;
        var (publishStatus, publishReason) = await publish;
        Assert.Equal(HttpStatusCode.Unauthorized, subscribeStatus);
        Assert.Equal("invalid subscriber token: JWKS keys unavailable", subscribeReason.Trim());
        Assert.Equal(HttpStatusCode.Unauthorized, publishStatus);
        Assert.Equal("invalid publisher token: JWKS keys unavailable", publishReason.Trim());

        // Within the 30 s between fetches the next one is refused at once, without another connection.
        var accepted = jwks.Connections;
        var again = await SubscribeAsync(hub, Rs256(rsa, Payload("""{"subscribe":["*"]}"""), kid: "k")).WaitAsync(WellUnderTheDefault);
        Assert.Equal(HttpStatusCode.Unauthorized, again.Status);
        Assert.Equal(accepted, jwks.Connections);
    }

    private static async Task<(HttpStatusCode Status, string Body)> SubscribeAsync(TestHub hub, string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, hub.HubUrl + "?topic=" + Uri.EscapeDataString(Topic));
        request.Headers.Authorization = new("Bearer", token);
        using var response = await hub.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        return (response.StatusCode, response.StatusCode == HttpStatusCode.OK ? "" : await response.Content.ReadAsStringAsync());
    }

    private static async Task<(HttpStatusCode Status, string Body)> PublishAsync(TestHub hub, string token)
    {
        using var response = await hub.PostAsync([new("topic", Topic), new("data", "x")], token);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>Accepts connections on 127.0.0.1 and never reads or answers a byte.</summary>
    private sealed class HangingServer : IAsyncDisposable
    {
        private readonly TcpListener _listener;
        private readonly List<Socket> _sockets = [];
        private readonly Task _accepting;

        private HangingServer(TcpListener listener)
        {
            _listener = listener;
            _accepting = AcceptAsync();
        }

        public TaskCompletionSource Accepted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public string Url => $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/jwks.json";

        public int Connections
        {
            get
            {
                lock (_sockets)
                {
                    return _sockets.Count;
                }
            }
        }

        public static HangingServer Start()
        {
            var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            return new HangingServer(listener);
        }

        public async ValueTask DisposeAsync()
        {
            _listener.Stop();
            await _accepting.WaitAsync(TimeSpan.FromSeconds(30));
            lock (_sockets)
            {
                _sockets.ForEach(s => s.Dispose());
            }
        }

        private async Task AcceptAsync()
        {
            try
            {
                while (true)
                {
                    var socket = await _listener.AcceptSocketAsync();
                    lock (_sockets)
                    {
                        _sockets.Add(socket);
                    }

                    Accepted.TrySetResult();
                }
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                // Stopped.
            }
        }
    }
}
