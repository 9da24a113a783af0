using Herald.Mercure;
using Herald.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Herald.Tests.Mercure;

/// <summary>
/// A hub mounted by an app of its own (AddHerald + MapHerald) at <see cref="HubPath"/>, optionally under a path base,
/// on Kestrel at 127.0.0.1: where the hub's URL is not the default one.
/// </summary>
internal sealed class MountedHub : IAsyncDisposable
{
    private MountedHub(WebApplication app, string baseUrl, string hubPath, string pathBase)
    {
        App = app;
        BaseUrl = baseUrl;
        HubPath = hubPath;
        PathBase = pathBase;
        Client = new HttpClient { BaseAddress = new Uri(baseUrl), Timeout = TimeSpan.FromSeconds(30) };
    }

    public WebApplication App { get; }

    /// <summary><c>http://127.0.0.1:port</c>.</summary>
    public string BaseUrl { get; }

    public string HubPath { get; }

    public string PathBase { get; }

    /// <summary>The hub's URL as clients reach it: base URL, path base, hub path.</summary>
    public string HubUrl => BaseUrl + PathBase + HubPath;

    public HttpClient Client { get; }

    public MercureHub Hub => App.Services.GetRequiredService<MercureHub>();

    public static async Task<MountedHub> StartAsync(
        string hubPath,
        string pathBase = "",
        Action<HeraldOptions>? configure = null,
        Action<IEndpointConventionBuilder>? conventions = null)
    {
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Services.AddHerald(options =>
        {
            options.PublisherJwtKey = TestHub.Key;
            options.SubscriberJwtKey = TestHub.Key;
            configure?.Invoke(options);
        });
        var app = builder.Build();
        if (pathBase.Length > 0)
        {
            app.UsePathBase(pathBase);
        }

        app.UseRouting();
        var hub = app.MapHerald(hubPath);
        conventions?.Invoke(hub);
        await app.StartAsync().WaitAsync(TimeSpan.FromSeconds(30));
        var baseUrl = Herald.Cli.HubServer.Addresses(app).First().TrimEnd('/');
        return new MountedHub(app, baseUrl, hubPath, pathBase);
    }

    /// <summary>Publishes <paramref name="topic"/> through HTTP with a publisher token for every topic.</summary>
    public async Task<(System.Net.HttpStatusCode Status, string Body)> PublishAsync(string topic)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, HubUrl) { Content = new FormUrlEncodedContent([new("topic", topic), new("data", "x")]) };
        request.Headers.Authorization = new("Bearer", TestHub.PublisherToken());
        using var response = await Client.SendAsync(request).WaitAsync(TimeSpan.FromSeconds(30));
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await App.StopAsync().WaitAsync(TimeSpan.FromSeconds(30));
        await App.DisposeAsync();
    }
}
