using System.Net;
using System.Text.Json;
using Herald.Cli;
using Herald.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Herald.Tests.Cluster;

/// <summary>
/// One hub of a cluster under test: the app <c>herald serve</c> runs, on Kestrel at 127.0.0.1 port 0, in this
/// process. What makes it a node of a cluster is its store, chosen by the subclass of <see cref="ClusterSpec"/>.
/// </summary>
internal sealed class ClusterNode : IAsyncDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    private ClusterNode(WebApplication app, string baseUrl)
    {
        App = app;
        BaseUrl = baseUrl;
        Client = new HttpClient { BaseAddress = new Uri(baseUrl), Timeout = Deadline };
    }

    public WebApplication App { get; }

    public string BaseUrl { get; }

    public string HubUrl => BaseUrl + "/.well-known/mercure";

    public HttpClient Client { get; }

    /// <summary>Starts a node with <paramref name="settings"/> over the test keys; <paramref name="services"/> runs last on its services.</summary>
    public static async Task<ClusterNode> StartAsync(IDictionary<string, string?> settings, Action<IServiceCollection>? services = null)
    {
        var all = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase)
        {
            ["urls"] = "http://127.0.0.1:0",
            ["Herald:PublisherJwtKey"] = TestHub.Key,
            ["Herald:SubscriberJwtKey"] = TestHub.Key,
        };
        foreach (var (key, value) in settings)
        {
            all[key] = value;
        }

        var app = HubServer.Build([], all, TextWriter.Null, services: services);
        await app.StartAsync().WaitAsync(Deadline);
        return new ClusterNode(app, HubServer.Addresses(app).First().TrimEnd('/'));
    }

    /// <summary>Publishes through HTTP, as a Mercure client would; returns the status and the body (the id when 200).</summary>
    public async Task<(HttpStatusCode Status, string Body)> PostAsync(string topic, string data, string? id = null, bool isPrivate = false)
    {
        var form = new List<KeyValuePair<string, string>> { new("topic", topic), new("data", data) };
        if (id is not null)
        {
            form.Add(new("id", id));
        }

        if (isPrivate)
        {
            form.Add(new("private", "on"));
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, HubUrl) { Content = new FormUrlEncodedContent(form) };
        request.Headers.Authorization = new("Bearer", TestHub.PublisherToken());
        using var response = await Client.SendAsync(request).WaitAsync(Deadline);
        return (response.StatusCode, await response.Content.ReadAsStringAsync().WaitAsync(Deadline));
    }

    /// <summary>Publishes through HTTP and returns the update's id; fails the test unless the hub answers 200.</summary>
    public async Task<string> PublishAsync(string topic, string data, bool isPrivate = false)
    {
        var (status, body) = await PostAsync(topic, data, isPrivate: isPrivate);
        Assert.True(status == HttpStatusCode.OK, $"publish on {BaseUrl} answered {(int)status}: {body}");
        return body;
    }

    /// <summary>Publishes through the app's <see cref="IHeraldPublisher"/>, as application code on this node would.</summary>
    public Task<string> PublishInProcessAsync(string topic, string data) =>
        App.Services.GetRequiredService<IHeraldPublisher>()
            .PublishAsync(new Update { Topics = [topic], Data = data }, CancellationToken.None).AsTask().WaitAsync(Deadline);

    /// <summary>The subscriber ids this node's subscriptions API lists (it needs <c>Herald:Subscriptions</c>).</summary>
    public async Task<List<string>> ListedSubscribersAsync()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, HubUrl + "/subscriptions");
        request.Headers.Authorization = new("Bearer", TestHub.SubscriberToken());
        using var response = await Client.SendAsync(request).WaitAsync(Deadline);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync().WaitAsync(Deadline));
        return [.. json.RootElement.GetProperty("subscriptions").EnumerateArray().Select(s => s.GetProperty("subscriber").GetString()!)];
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await App.StopAsync().WaitAsync(Deadline);
        await App.DisposeAsync();
    }
}
