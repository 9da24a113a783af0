using Herald.Cli;
using Herald.Mercure;
using Herald.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Herald.Tests.Infrastructure;

/// <summary>A real hub (the same app as <c>herald serve</c>) on Kestrel at 127.0.0.1, port 0.</summary>
internal sealed class TestHub : IAsyncDisposable
{
    public const string Key = "test-key-0123456789-0123456789-0123456789";

    private TestHub(WebApplication app, string baseUrl)
    {
        App = app;
        BaseUrl = baseUrl;
        Client = new HttpClient { BaseAddress = new Uri(baseUrl), Timeout = TimeSpan.FromSeconds(30) };
    }

    public WebApplication App { get; }

    public string BaseUrl { get; }

    public string HubUrl => BaseUrl + "/.well-known/mercure";

    public HttpClient Client { get; }

    public MercureHub Hub => App.Services.GetRequiredService<MercureHub>();

    /// <summary>
    /// Starts a hub with <paramref name="settings"/> over the defaults. With <paramref name="time"/>, stream deadlines
    /// (token expiry, write timeout) run on that clock (<see cref="SkippingClock"/>), so a test can pass them at once.
    /// </summary>
    public static async Task<TestHub> StartAsync(IDictionary<string, string?>? settings = null, TimeProvider? time = null)
    {
        var all = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase)
        {
            ["urls"] = "http://127.0.0.1:0",
            ["Herald:PublisherJwtKey"] = Key,
            ["Herald:SubscriberJwtKey"] = Key,
            ["Herald:DataDir"] = Path.Combine(Path.GetTempPath(), "herald-tests", Guid.NewGuid().ToString("N")),

            // The demo pages and endpoints are tested on this hub (herald serve has them only with --demo).
            ["Demos:Enabled"] = "true",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            all[key] = value;
        }

        var app = HubServer.Build([], all, TextWriter.Null, services: time is null ? null : services => services.AddSingleton(time));
        await app.StartAsync().WaitAsync(TimeSpan.FromSeconds(30));
        var address = HubServer.Addresses(app).First().TrimEnd('/');
        return new TestHub(app, address);
    }

    /// <summary>
    /// An HTTP client whose connections come from <paramref name="local"/> (another loopback address such as 127.0.0.2,
    /// which Linux routes to lo), so the hub sees another client address than <see cref="Client"/>'s.
    /// </summary>
    public static HttpClient ClientFrom(string baseUrl, System.Net.IPAddress local)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (context, cancel) =>
            {
                var socket = new System.Net.Sockets.Socket(local.AddressFamily, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    socket.Bind(new System.Net.IPEndPoint(local, 0));
                    await socket.ConnectAsync(context.DnsEndPoint, cancel);
                    return new System.Net.Sockets.NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        return new HttpClient(handler) { BaseAddress = new Uri(baseUrl), Timeout = TimeSpan.FromSeconds(30) };
    }

    public static string PublisherToken(params string[] topics) => TokenIssuer.Create(Key, topics.Length == 0 ? ["*"] : topics, null, TimeSpan.FromHours(1));

    public static string SubscriberToken(params string[] topics) => TokenIssuer.Create(Key, null, topics.Length == 0 ? ["*"] : topics, TimeSpan.FromHours(1));

    /// <summary>Publishes through HTTP, as a Mercure client would; returns the response.</summary>
    public Task<HttpResponseMessage> PostAsync(IEnumerable<KeyValuePair<string, string>> form, string? token = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, HubUrl) { Content = new FormUrlEncodedContent(form) };
        request.Headers.Authorization = new("Bearer", token ?? PublisherToken());
        return Client.SendAsync(request);
    }

    public async Task<string> PublishAsync(string topic, string data, bool isPrivate = false)
    {
        var form = new List<KeyValuePair<string, string>> { new("topic", topic), new("data", data) };
        if (isPrivate)
        {
            form.Add(new("private", "on"));
        }

        using var response = await PostAsync(form).WaitAsync(TimeSpan.FromSeconds(30));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"publish failed: {(int)response.StatusCode} {body}");
        return body;
    }

    /// <summary>Opens a subscription and returns the stream once headers are in.</summary>
    public async Task<SseReader> SubscribeAsync(string query, string? token = null, string? lastEventId = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, HubUrl + "?" + query);
        if (token is not null)
        {
            request.Headers.Authorization = new("Bearer", token);
        }

        if (lastEventId is not null)
        {
            request.Headers.Add("Last-Event-ID", lastEventId);
        }

        var response = await Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).WaitAsync(TimeSpan.FromSeconds(30));
        return await SseReader.OpenAsync(response);
    }

    /// <summary>
    /// Waits (polling with a deadline) until <paramref name="condition"/> holds. The deadline is generous because it
    /// only matters when the test fails: on a loaded two-core machine a healthy hub can take seconds.
    /// </summary>
    public static async Task Eventually(Func<bool> condition, string what, int timeoutMs = 30_000)
    {
        var deadline = Environment.TickCount64 + timeoutMs;
        while (!condition())
        {
            if (Environment.TickCount64 > deadline)
            {
                Assert.Fail("timed out waiting for " + what);
            }

            await Task.Delay(20);
        }
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await App.StopAsync().WaitAsync(TimeSpan.FromSeconds(30));
        await App.DisposeAsync();
    }
}
