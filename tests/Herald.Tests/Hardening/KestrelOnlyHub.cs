using Herald.Mercure;
using Herald.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Herald.Tests.Hardening;

/// <summary>
/// A hub mounted in a plain app (AddHerald + MapHerald) with none of the connection-level hooks, so every request,
/// subscriptions included, goes through Kestrel's HTTP layer. Same keys and request-line limits as <see cref="TestHub"/>.
/// </summary>
internal sealed class KestrelOnlyHub : IAsyncDisposable
{
    private KestrelOnlyHub(WebApplication app, string baseUrl, CapturingLoggerProvider log)
    {
        App = app;
        BaseUrl = baseUrl;
        Log = log;
        Client = new HttpClient { BaseAddress = new Uri(baseUrl), Timeout = TimeSpan.FromSeconds(30) };
    }

    public WebApplication App { get; }

    public string BaseUrl { get; }

    public string HubUrl => BaseUrl + "/.well-known/mercure";

    public HttpClient Client { get; }

    public CapturingLoggerProvider Log { get; }

    public MercureHub Hub => App.Services.GetRequiredService<MercureHub>();

    public static async Task<KestrelOnlyHub> StartAsync(IDictionary<string, string?>? settings = null)
    {
        var all = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase)
        {
            ["Herald:PublisherJwtKey"] = TestHub.Key,
            ["Herald:SubscriberJwtKey"] = TestHub.Key,
            ["Herald:DataDir"] = Path.Combine(Path.GetTempPath(), "herald-tests", Guid.NewGuid().ToString("N")),
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            all[key] = value;
        }

        var log = new CapturingLoggerProvider();
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Configuration.AddInMemoryCollection(all);
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(log);
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            // As herald serve: a subscription may name up to 1000 topic selectors in its query string.
            kestrel.Limits.MaxRequestLineSize = 256 * 1024;
            kestrel.Limits.MaxRequestHeadersTotalSize = 256 * 1024;
        });
        builder.Services.AddHerald().UseRedis();
        var app = builder.Build();
        app.MapHerald();
        await app.StartAsync().WaitAsync(TimeSpan.FromSeconds(30));
        return new KestrelOnlyHub(app, Herald.Cli.HubServer.Addresses(app).First().TrimEnd('/'), log);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await App.StopAsync().WaitAsync(TimeSpan.FromSeconds(30));
        await App.DisposeAsync();
    }
}
