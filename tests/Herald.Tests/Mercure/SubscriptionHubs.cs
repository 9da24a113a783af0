using System.Text;
using Herald.Mercure;
using Herald.Tests.Hardening;
using Herald.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Herald.Tests.Mercure;

/// <summary>
/// One hub under test: its URL, its in-process hub (to publish without a token, whatever the protocol accepts) and
/// whether its <c>GET</c> subscriptions are served straight from the connection (<c>herald serve</c>'s listener).
/// </summary>
internal sealed record SubscriptionHub(string Name, string BaseUrl, HttpClient Client, MercureHub Mercure, bool Direct, bool V1Only)
{
    public string HubUrl => BaseUrl + "/.well-known/mercure";

    public override string ToString() => Name;

    /// <summary>Publishes in process; returns the update's id.</summary>
    public Task<string> PublishAsync(string topic, string data, bool isPrivate = false, string? id = null)
        => Mercure.PublishAsync(new Update { Topics = [topic], Data = data, Private = isPrivate, EventId = id }).AsTask().WaitAsync(TimeSpan.FromSeconds(30));

    /// <summary>Sends <c>GET hub?query</c>; the answer's headers are in, its body is not read.</summary>
    public Task<HttpResponseMessage> GetAsync(string query, string? token = null, string? lastEventId = null)
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

        return Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).WaitAsync(TimeSpan.FromSeconds(30));
    }

    /// <summary>
    /// Opens a subscription (asserting 200) and waits until the hub has registered it, so that what is published next
    /// reaches it: the head can go out just before registration. <paramref name="marker"/> is a selector value only
    /// this subscription holds.
    /// </summary>
    public async Task<SseReader> SubscribeAsync(string query, string marker, string? token = null, string? lastEventId = null)
    {
        var response = await GetAsync(query, token, lastEventId);
        if (!response.IsSuccessStatusCode)
        {
            var body = await response.Content.ReadAsStringAsync();
            Assert.Fail($"{Name}: subscribing with {query} answered {(int)response.StatusCode} {body}");
        }

        await WaitRegisteredAsync(marker);
        return await SseReader.OpenAsync(response);
    }

    public Task WaitRegisteredAsync(string marker)
        => TestHub.Eventually(() => Mercure.Dispatcher.Snapshot().Any(s => s.Selectors.Any(selector => selector.Value == marker)), $"{Name}: the subscription holding {marker}");

    /// <summary>Sends <c>GET hub?query</c> and returns the status and the body, which must be a one-line reason.</summary>
    public async Task<(int Status, string Body)> RefusalAsync(string query)
    {
        using var response = await GetAsync(query);
        var body = await response.Content.ReadAsStringAsync().WaitAsync(TimeSpan.FromSeconds(30));
        return ((int)response.StatusCode, body);
    }

    /// <summary>A fresh absolute topic on this hub's host, for one test.</summary>
    public string NewTopic(string name) => $"https://example.com/{name}/{Guid.NewGuid():N}";
}

/// <summary>
/// The four hubs the subscription spec tests run on, started once: a Mercure 0.x + 1.0 hub (the default) and a 1.0-only
/// hub, each served by <c>herald serve</c>'s app (subscriptions straight from the connection) and by Kestrel alone.
/// Anonymous subscribers are allowed, so no test depends on which token generation a protocol setting accepts.
/// </summary>
public sealed class SubscriptionHubs : IAsyncLifetime
{
    private readonly List<IAsyncDisposable> _owned = [];

    internal SubscriptionHub CompatibleDirect { get; private set; } = null!;

    internal SubscriptionHub CompatibleKestrel { get; private set; } = null!;

    internal SubscriptionHub V1Direct { get; private set; } = null!;

    internal SubscriptionHub V1Kestrel { get; private set; } = null!;

    /// <summary>Both paths of the default (0.x + 1.0) hub.</summary>
    internal SubscriptionHub[] Compatible => [CompatibleDirect, CompatibleKestrel];

    /// <summary>Every hub: both protocols, both paths.</summary>
    internal SubscriptionHub[] All => [CompatibleDirect, CompatibleKestrel, V1Direct, V1Kestrel];

    public async Task InitializeAsync()
    {
        CompatibleDirect = await StartDirectAsync("0.x+1.0 direct", v1Only: false);
        CompatibleKestrel = await StartKestrelAsync("0.x+1.0 Kestrel", v1Only: false);
        V1Direct = await StartDirectAsync("1.0 direct", v1Only: true);
        V1Kestrel = await StartKestrelAsync("1.0 Kestrel", v1Only: true);
    }

    public async Task DisposeAsync()
    {
        foreach (var hub in _owned)
        {
            await hub.DisposeAsync();
        }
    }

    /// <summary>Runs <paramref name="check"/> on each hub in turn, naming the hub when it fails.</summary>
    internal static async Task OnEach(IEnumerable<SubscriptionHub> hubs, Func<SubscriptionHub, Task> check)
    {
        foreach (var hub in hubs)
        {
            try
            {
                await check(hub);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                throw new Xunit.Sdk.XunitException($"on the {hub.Name} hub: {e.Message}", e);
            }
        }
    }

    private static Dictionary<string, string?> Settings(bool v1Only)
    {
        var settings = new Dictionary<string, string?> { ["Herald:Anonymous"] = "true" };
        if (v1Only)
        {
            settings["Herald:Protocol"] = "V1";
        }

        return settings;
    }

    private async Task<SubscriptionHub> StartDirectAsync(string name, bool v1Only)
    {
        var hub = await TestHub.StartAsync(Settings(v1Only));
        _owned.Add(hub);
        return new SubscriptionHub(name, hub.BaseUrl, hub.Client, hub.Hub, Direct: true, v1Only);
    }

    private async Task<SubscriptionHub> StartKestrelAsync(string name, bool v1Only)
    {
        var hub = await KestrelOnlyHub.StartAsync(Settings(v1Only));
        _owned.Add(hub);
        return new SubscriptionHub(name, hub.BaseUrl, hub.Client, hub.Hub, Direct: false, v1Only);
    }
}

/// <summary>The spec test classes share the four hubs and run one after another.</summary>
[CollectionDefinition(Name)]
public sealed class SubscriptionHubsCollection : ICollectionFixture<SubscriptionHubs>
{
    public const string Name = "subscription spec hubs";
}

/// <summary>Raw requests for what HttpClient will not send as is (bytes outside ASCII, other methods).</summary>
internal static class SubscriptionRaw
{
    public static byte[] Get(SubscriptionHub hub, string target, string? extraHeaders = null)
        => Encoding.Latin1.GetBytes($"GET {target} HTTP/1.1\r\nHost: {new Uri(hub.BaseUrl).Authority}\r\n{extraHeaders}\r\n");
}
