using Herald.Cli;
using Herald.Mercure;
using Herald.Tests.Infrastructure;
using Herald.Tests.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Herald.Tests.Mercure;

/// <summary>
/// A real hub (the app <c>herald serve</c> runs) on Kestrel at 127.0.0.1 port 0, anonymous subscribers allowed, its store
/// (SQLite, memory or Redis, as the settings choose) wrapped in a <see cref="CountingStore"/>.
/// </summary>
internal sealed class ResumeHub : IAsyncDisposable
{
    private ResumeHub(WebApplication app, string baseUrl, CountingStore store)
    {
        App = app;
        Store = store;
        HubUrl = baseUrl + "/.well-known/mercure";
        Client = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
    }

    public WebApplication App { get; }

    public CountingStore Store { get; }

    public string HubUrl { get; }

    public HttpClient Client { get; }

    public MercureHub Hub => App.Services.GetRequiredService<MercureHub>();

    /// <summary>Settings for a hub on <paramref name="store"/>: <c>sqlite</c> (in <paramref name="dataDir"/> or a fresh one), <c>memory</c>, or a Redis URL.</summary>
    public static Dictionary<string, string?> Settings(string store, string? dataDir = null) => new(StringComparer.OrdinalIgnoreCase)
    {
        ["Herald:DataDir"] = store == "sqlite" ? dataDir ?? Path.Combine(Path.GetTempPath(), "herald-tests", Guid.NewGuid().ToString("N")) : null,
        ["Herald:Transport"] = store.StartsWith("redis://", StringComparison.Ordinal) ? store : null,
    };

    public static async Task<ResumeHub> StartAsync(Dictionary<string, string?> settings)
    {
        var all = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase)
        {
            ["urls"] = "http://127.0.0.1:0",
            ["Herald:PublisherJwtKey"] = TestHub.Key,
            ["Herald:SubscriberJwtKey"] = TestHub.Key,
            ["Herald:Anonymous"] = "true",
        };
        foreach (var (key, value) in settings)
        {
            all[key] = value;
        }

        CountingStore? store = null;
        var app = HubServer.Build([], all, TextWriter.Null, services: services => CountingStore.Install(services, built => store = built));
        await app.StartAsync().WaitAsync(TimeSpan.FromSeconds(30));
        return new ResumeHub(app, HubServer.Addresses(app).First().TrimEnd('/'), store!);
    }

    /// <summary>Publishes through HTTP and returns the id.</summary>
    public async Task<string> PublishAsync(string topic, string data, bool isPrivate = false)
    {
        var form = new List<KeyValuePair<string, string>> { new("topic", topic), new("data", data) };
        if (isPrivate)
        {
            form.Add(new("private", "on"));
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, HubUrl) { Content = new FormUrlEncodedContent(form) };
        request.Headers.Authorization = new("Bearer", TestHub.PublisherToken());
        using var response = await Client.SendAsync(request).WaitAsync(TimeSpan.FromSeconds(30));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"publish failed: {(int)response.StatusCode} {body}");
        return body;
    }

    /// <summary>Subscribes to <paramref name="topic"/>, resuming from <paramref name="lastEventId"/> when given; returns once headers are in.</summary>
    public async Task<SseReader> SubscribeAsync(string topic, string? lastEventId = null, string? token = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, HubUrl + "?topic=" + Uri.EscapeDataString(topic));
        if (lastEventId is not null)
        {
            request.Headers.Add("Last-Event-ID", lastEventId);
        }

        if (token is not null)
        {
            request.Headers.Authorization = new("Bearer", token);
        }

        var response = await Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).WaitAsync(TimeSpan.FromSeconds(30));
        return await SseReader.OpenAsync(response);
    }

    /// <summary>The ids of the events <paramref name="reader"/> gets up to and including the one whose data is <paramref name="last"/>.</summary>
    public static async Task<List<string>> ReadThroughAsync(SseReader reader, string last)
    {
        var ids = new List<string>();
        while (true)
        {
            var item = await reader.NextAsync();
            Assert.NotNull(item);
            ids.Add(item.Value.EventId!);
            if (item.Value.Data == last)
            {
                return ids;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await App.StopAsync().WaitAsync(TimeSpan.FromSeconds(30));
        await App.DisposeAsync();
    }
}
