using System.Security.Cryptography;
using Herald.Cli.Demos;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Options;

namespace Herald.Cli;

/// <summary>
/// The standalone hub of <c>herald serve</c>: Herald mounted in a Kestrel app, with the demo pages at <c>/</c>.
/// Tests build it the same way, on 127.0.0.1 port 0.
/// </summary>
internal static class HubServer
{
    public const string DefaultUrl = "http://localhost:5080";
    public const string KeyFileName = "jwt.key";

    /// <summary>Where the key generated on this start was kept, or <c>null</c> when a key was configured.</summary>
    public static string? GeneratedKeyPath => GeneratedKey.GeneratedKeyPathValue;

    /// <summary>
    /// Builds the hub app. <paramref name="settings"/> are configuration keys (e.g. <c>Herald:Anonymous</c>) that win
    /// over appsettings and environment; <paramref name="defaults"/> lose to everything. <paramref name="services"/>
    /// runs last on the app's services (tests register a <see cref="TimeProvider"/> they move).
    /// </summary>
    public static WebApplication Build(
        string[] args,
        IDictionary<string, string?> settings,
        TextWriter? console = null,
        IEnumerable<KeyValuePair<string, string?>>? defaults = null,
        Action<IServiceCollection>? services = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = args,
            WebRootPath = Path.Combine(AppContext.BaseDirectory, "wwwroot"),
        });
        if (defaults is not null)
        {
            builder.Configuration.Sources.Insert(0, new Microsoft.Extensions.Configuration.Memory.MemoryConfigurationSource { InitialData = defaults });
        }

        builder.Configuration.AddInMemoryCollection(settings);
        if (string.IsNullOrEmpty(builder.Configuration["urls"]) && string.IsNullOrEmpty(builder.Configuration["ASPNETCORE_URLS"]))
        {
            builder.WebHost.UseUrls(DefaultUrl);
        }

        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;

            // Long-lived streams: no connection cap and no minimum data rate (set per SSE response too).
            kestrel.Limits.MaxConcurrentConnections = null;
            kestrel.Limits.MinResponseDataRate = null;

            // A subscription may name up to 1000 topic selectors in its query string.
            kestrel.Limits.MaxRequestLineSize = 256 * 1024;
            kestrel.Limits.MaxRequestHeadersTotalSize = 256 * 1024;

            // Subscriptions opening a connection are served straight from it, without Kestrel's HTTP layer.
            kestrel.ConfigureEndpointDefaults(listen => listen.UseHeraldSubscriptions());
        });

        // ...and most never become Kestrel connections at all: Herald's listener serves them on their sockets.
        builder.WebHost.UseHeraldListener();

        builder.Services.AddHerald().UseRedis();
        builder.Services.AddDemos(builder.Configuration);
        builder.Services.AddSingleton<IPostConfigureOptions<HeraldOptions>>(new GeneratedKey(console ?? Console.Out));
        services?.Invoke(builder.Services);

        var app = builder.Build();
        app.UseDefaultFiles();
        app.UseStaticFiles(new StaticFileOptions
        {
            FileProvider = Directory.Exists(app.Environment.WebRootPath)
                ? new PhysicalFileProvider(app.Environment.WebRootPath)
                : new NullFileProvider(),
            OnPrepareResponse = DemoEndpoints.AddPageHeaders,
        });
        app.MapHerald();
        app.MapDemos();
        return app;
    }

    /// <summary>The addresses Kestrel bound (after start), e.g. the real port behind port 0.</summary>
    public static IReadOnlyList<string> Addresses(WebApplication app)
        => app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.ToList() ?? [];

    /// <summary>
    /// With no key configured, a newcomer should still be able to publish at once: generate a random key once,
    /// keep it in the data directory readable by its owner only, and use it for publishers and subscribers.
    /// </summary>
    private sealed class GeneratedKey(TextWriter console) : IPostConfigureOptions<HeraldOptions>
    {
        public void PostConfigure(string? name, HeraldOptions options)
        {
            if (options.PublisherJwtKey is not null || options.SubscriberJwtKey is not null
                || options.PublisherJwksUrl is not null || options.SubscriberJwksUrl is not null)
            {
                return;
            }

            var dataDir = options.DataDir ?? Path.Combine(Directory.GetCurrentDirectory(), "herald-data");
            Directory.CreateDirectory(dataDir);
            var path = Path.Combine(dataDir, KeyFileName);
            string key;
            if (File.Exists(path))
            {
                key = File.ReadAllText(path).Trim();
            }
            else
            {
                key = Convert.ToHexString(RandomNumberGenerator.GetBytes(32)).ToLowerInvariant();
                var fileOptions = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
                if (!OperatingSystem.IsWindows())
                {
                    fileOptions.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
                }

                using (var file = new FileStream(path, fileOptions))
                using (var writer = new StreamWriter(file))
                {
                    writer.Write(key);
                }

                console.WriteLine($"herald: no JWT key configured; generated one in {path} (readable by you only).");
            }

            options.PublisherJwtKey = key;
            options.SubscriberJwtKey = key;
            GeneratedKeyPathValue = path;
        }

        public static string? GeneratedKeyPathValue { get; private set; }
    }
}
