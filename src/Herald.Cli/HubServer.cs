using System.Security.Cryptography;
using Herald.Cli.Demos;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Options;

namespace Herald.Cli;

/// <summary>
/// The standalone hub of <c>herald serve</c>: Herald mounted in a Kestrel app, with the demo pages at <c>/</c> when
/// they are asked for (<c>--demo</c>). Tests build it the same way, on 127.0.0.1 port 0.
/// </summary>
internal static class HubServer
{
    public const string DefaultUrl = "http://localhost:5080";
    public const string KeyFileName = "jwt.key";

    /// <summary>The data directory of <c>herald serve</c> when none is configured, relative to the working directory.</summary>
    public const string DefaultDataDir = "herald-data";

    /// <summary>
    /// The listen backlog: how many connections the kernel holds while the hub accepts them. Kestrel's default (512) is
    /// too short for a reconnect storm: when a hub restarts, every subscriber connects at once, the kernel drops the SYNs
    /// that find the queue full and each of those clients waits out TCP's retransmission backoff (1, 3, 7, 15 s...). With
    /// 10,000 subscribers the last one resumed 18 s after the hub answered, and <c>TcpExtListenOverflows</c> counted
    /// ~60,000 drops (workload (f), bench/compare.sh). The default asks for the most the system allows (Linux cuts the
    /// value to <c>net.core.somaxconn</c>, 4096 on current kernels); <c>Herald:ListenBacklog</c> sets it.
    /// </summary>
    internal static int ListenBacklog(IConfiguration configuration)
    {
        var text = configuration["Herald:ListenBacklog"];
        if (string.IsNullOrEmpty(text))
        {
            return DefaultListenBacklog;
        }

        return int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var backlog) && backlog > 0
            ? backlog
            : throw new InvalidOperationException($"Herald:ListenBacklog must be a positive whole number, not '{text}'.");
    }

    /// <summary>More than any kernel grants: the backlog becomes the system's maximum (<c>net.core.somaxconn</c>).</summary>
    internal const int DefaultListenBacklog = 65535;

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
            // appsettings.json is read once, at start. Reloading it on change watches the whole content root, and the
            // default data directory (./herald-data) lies inside it: every SQLite commit woke that watcher, about 11 % of
            // a durable publish's CPU (perf, workload (e); 35.6 against 31.9 µs a publish). Key files have their own
            // watcher (KeyFileWatcher). A later --hostBuilder:reloadConfigOnChange=true in args still turns it back on.
            Args = ["--hostBuilder:reloadConfigOnChange=false", .. args],
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
        HealthEndpoints.QuietProbeLog(builder.Logging);
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

            // HTTPS endpoints: HTTP/2 limits in step with HTTP/1.1's (Tls.cs).
            Tls.Configure(kestrel);
        });

        // ...and most never become Kestrel connections at all: Herald's listener serves them on their sockets.
        builder.WebHost.UseHeraldListener();
        var backlog = ListenBacklog(builder.Configuration);
        builder.Services.Configure<Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets.SocketTransportOptions>(sockets => sockets.Backlog = backlog);

        builder.Services.AddHerald().UseRedis();
        builder.AddTelemetryExport();
        var demos = builder.Services.AddDemosIfEnabled(builder.Configuration);
        var generatedKey = new GeneratedKey(console ?? Console.Out);
        builder.Services.AddSingleton(generatedKey);
        builder.Services.AddSingleton<IPostConfigureOptions<HeraldOptions>>(generatedKey);
        services?.Invoke(builder.Services);

        var app = builder.Build();
        app.MapTelemetryExport();
        if (demos)
        {
            app.UseRateLimiter();
            app.UseDefaultFiles();
            app.UseStaticFiles(new StaticFileOptions
            {
                FileProvider = Directory.Exists(app.Environment.WebRootPath)
                    ? new PhysicalFileProvider(app.Environment.WebRootPath)
                    : new NullFileProvider(),
                OnPrepareResponse = DemoEndpoints.AddPageHeaders,
            });
        }
        else
        {
            // Someone opening the hub's address should learn it is up and where the demos went, not get a bare 404.
            app.MapGet("/", DemoEndpoints.DemosOffPage);
        }

        app.MapHerald();
        HealthEndpoints.Map(app);
        app.MapDemos();
        app.MapDebugUi();
        return app;
    }

    /// <summary>Whether this start runs on a key it generated, and where that key is kept.</summary>
    public static GeneratedKey KeyOf(WebApplication app) => app.Services.GetRequiredService<GeneratedKey>();

    /// <summary>The addresses Kestrel bound (after start), e.g. the real port behind port 0.</summary>
    public static IReadOnlyList<string> Addresses(WebApplication app)
        => app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.ToList() ?? [];

    /// <summary>
    /// With no key configured, a newcomer should still be able to publish at once: generate a random key once,
    /// keep it in the data directory readable by its owner only, and use it for publishers and subscribers. With
    /// no data directory (history in memory, asked for) nothing is written: the key lasts as long as the process.
    /// </summary>
    internal sealed class GeneratedKey(TextWriter console) : IPostConfigureOptions<HeraldOptions>
    {
        private string? _key;

        /// <summary>Whether this start runs on a key it generated.</summary>
        public bool Generated { get; private set; }

        /// <summary>The file holding the generated key, or <c>null</c> when it is kept nowhere.</summary>
        public string? Path { get; private set; }

        public void PostConfigure(string? name, HeraldOptions options)
        {
            if (options.PublisherJwtKey is not null || options.SubscriberJwtKey is not null
                || options.PublisherJwksUrl is not null || options.SubscriberJwksUrl is not null
                || options.PublisherJwtKeyFile is not null || options.SubscriberJwtKeyFile is not null)
            {
                return;
            }

            if (_key is null)
            {
                if (string.IsNullOrEmpty(options.DataDir))
                {
                    _key = NewKey();
                    console.WriteLine("herald: no JWT key configured and no data directory; generated one for this run only.");
                }
                else
                {
                    (_key, Path) = ReadOrCreate(options.DataDir);
                }
            }

            options.PublisherJwtKey = _key;
            options.SubscriberJwtKey = _key;
            Generated = true;
        }

        private static string NewKey() => Convert.ToHexString(RandomNumberGenerator.GetBytes(32)).ToLowerInvariant();

        private (string Key, string Path) ReadOrCreate(string dataDir)
        {
            Directory.CreateDirectory(dataDir);
            var path = System.IO.Path.Combine(dataDir, KeyFileName);
            if (File.Exists(path))
            {
                const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;
                if (!OperatingSystem.IsWindows() && (File.GetUnixFileMode(path) & ~OwnerOnly) != 0)
                {
                    // Copied, restored from a backup or unpacked with looser rights: it is a secret, whoever made it so.
                    File.SetUnixFileMode(path, OwnerOnly);
                    console.WriteLine($"herald: {path} was readable by others; made it readable by you only.");
                }

                return (File.ReadAllText(path).Trim(), path);
            }

            var key = NewKey();
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
            return (key, path);
        }
    }
}
