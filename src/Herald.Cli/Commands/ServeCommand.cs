using System.CommandLine;
using System.Globalization;
using Herald.Security;
using Herald.Storage;
using Herald.Storage.Sqlite;
using Herald.Topics;
using Microsoft.Extensions.Options;

namespace Herald.Cli.Commands;

/// <summary><c>herald serve</c>: run the hub. Each flag sets the same configuration key as appsettings.json and <c>Herald__…</c>.</summary>
internal static class ServeCommand
{
    /// <summary>Where <c>herald serve</c> mounts the hub (MapHerald's default).</summary>
    private const string HubPath = "/.well-known/mercure";

    public static Command Create()
    {
        var urls = new Option<string>("--urls") { Description = $"Addresses to listen on, separated by ';' (default {HubServer.DefaultUrl})" };
        var publisherKey = new Option<string>("--publisher-jwt-key") { Description = "Key verifying publishers' JWTs (HS256 secret, or PEM public key with --publisher-jwt-alg RS256)" };
        var subscriberKey = new Option<string>("--subscriber-jwt-key") { Description = "Key verifying subscribers' JWTs" };
        var jwtKey = new Option<string>("--jwt-key") { Description = "One key for both publishers and subscribers" };
        var publisherAlg = new Option<string>("--publisher-jwt-alg") { Description = "HS256 (default), RS256 or ES256" };
        var subscriberAlg = new Option<string>("--subscriber-jwt-alg") { Description = "HS256 (default), RS256 or ES256" };
        var issuer = new Option<string>("--issuer")
        {
            Description = "The issuer (iss) the keys above belong to: Mercure 1.0 tokens it signs are accepted (more issuers: Herald:Issuers in configuration)",
        };
        var resourceIdentifier = new Option<string>("--resource-identifier")
        {
            Description = "The hub's resource identifier, the aud 1.0 tokens must name, e.g. https://example.com/.well-known/mercure (default: derived from each request)",
        };
        var protocol = new Option<string>("--protocol") { Description = "0 (default): Mercure 1.0 and 0.x clients; 1: Mercure 1.0 only", HelpName = "0|1" };
        var cookieName = new Option<string>("--cookie-name")
        {
            Description = "The cookie a 1.0 token may come in (default __Secure-mercure_access_token; over plain HTTP use a name without __Secure-)",
        };
        var publisherJwks = new Option<string>("--publisher-jwks-url") { Description = "JWKS URL with the keys of publishers' JWTs" };
        var subscriberJwks = new Option<string>("--subscriber-jwks-url") { Description = "JWKS URL with the keys of subscribers' JWTs" };
        var anonymous = new Option<bool>("--anonymous") { Description = "Allow subscribers without a token (public updates only)" };
        var cors = new Option<string[]>("--cors-origins") { Description = "Origins allowed to subscribe from browsers ('*' for any)", AllowMultipleArgumentsPerToken = true };
        var publishOrigins = new Option<string[]>("--publish-origins") { Description = "Origins allowed to publish with the mercureAuthorization cookie", AllowMultipleArgumentsPerToken = true };
        var subscriptions = new Option<bool>("--subscriptions") { Description = "Publish subscription events and serve the subscriptions API (presence)" };
        var heartbeat = new Option<string>("--heartbeat") { Description = "Heartbeat interval on idle streams, e.g. 15s (0 turns it off)" };
        var writeTimeout = new Option<string>("--write-timeout") { Description = "Close streams after this long so clients reconnect, e.g. 10m (0: never)" };
        var shutdownDrain = new Option<string>("--shutdown-drain")
        {
            Description = "On shutdown, close the streams spread over this window so clients do not reconnect all at once, e.g. 5s (default; 0: all at once)",
        };
        var dataDir = new Option<string>("--data-dir")
        {
            Description = $"Directory for the SQLite history (herald.db) and the generated key (default ./{HubServer.DefaultDataDir}); \"\" keeps history in memory only (lost on restart)",
        };
        var transport = new Option<string>("--transport") { Description = "Where updates go: empty for the local store, or redis://host:port for a cluster" };
        var demo = new Option<bool>("--demo") { Description = "Serve the demo pages at / (front page, dashboard, chat), their /demo endpoints and the figures feed; turns presence on" };
        var ui = new Option<bool>("--ui") { Description = $"Serve the debug page at {DebugUi.Path}/ (it holds no secret: it does what a token pasted into it allows)" };

        // Keys from files (kept off the command line, where ps shows them; reloaded when the file changes) and the startup token.
        var jwtKeyFile = new Option<string>("--jwt-key-file") { Description = "File holding one key for both publishers and subscribers; reloaded when it changes", HelpName = "path" };
        var publisherKeyFile = new Option<string>("--publisher-jwt-key-file") { Description = "File holding the publishers' key (as --publisher-jwt-key); reloaded when it changes", HelpName = "path" };
        var subscriberKeyFile = new Option<string>("--subscriber-jwt-key-file") { Description = "File holding the subscribers' key (as --subscriber-jwt-key); reloaded when it changes", HelpName = "path" };
        var printToken = new Option<bool>("--print-token") { Description = "On a generated key, also print the startup token (it is always written to a file readable by you only)" };
        var logFormat = new Option<string>("--log-format")
        {
            Description = "Console log format: simple (default), json (one JSON object a line) or systemd; sets Logging:Console:FormatterName",
            HelpName = "simple|json|systemd",
        };
        logFormat.AcceptOnlyFromAmong("simple", "json", "systemd");
        var metricsPort = new Option<string>("--metrics-port") { Description = "Serve Prometheus metrics (/metrics) on this port instead of the hub's", HelpName = "port" };
        var noMetrics = new Option<bool>("--no-metrics") { Description = "Do not serve Prometheus metrics at /metrics (OTLP export still follows OTEL_EXPORTER_OTLP_ENDPOINT)" };

        var command = new Command("serve", "Run the Herald hub (Mercure protocol); --demo adds the demo pages.")
        {
            urls, publisherKey, subscriberKey, jwtKey, publisherAlg, subscriberAlg, publisherJwks, subscriberJwks,
            issuer, resourceIdentifier, protocol, cookieName, anonymous, cors, publishOrigins, subscriptions, heartbeat, writeTimeout, dataDir, transport, demo,
            jwtKeyFile, publisherKeyFile, subscriberKeyFile, printToken,
            logFormat,
            metricsPort, noMetrics,
            shutdownDrain,
        };
        command.Options.Add(ui);

        // HTTPS: --cert-file, --cert-key-file, --cert-password-file (Tls.cs).
        var tls = Tls.CreateOptions();
        foreach (var option in tls.All)
        {
            command.Options.Add(option);
        }

        command.SetAction(async (parse, cancellationToken) =>
        {
            var settings = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
            void Set(string key, string? value)
            {
                if (!string.IsNullOrEmpty(value))
                {
                    settings[key] = value;
                }
            }

            void SetList(string key, string[]? values)
            {
                for (var i = 0; values is not null && i < values.Length; i++)
                {
                    settings[$"{key}:{i}"] = values[i];
                }
            }

            Set("urls", parse.GetValue(urls));
            Set("Herald:PublisherJwtKey", parse.GetValue(publisherKey) ?? parse.GetValue(jwtKey));
            Set("Herald:SubscriberJwtKey", parse.GetValue(subscriberKey) ?? parse.GetValue(jwtKey));
            Set("Herald:PublisherJwtAlgorithm", parse.GetValue(publisherAlg));
            Set("Herald:SubscriberJwtAlgorithm", parse.GetValue(subscriberAlg));
            Set("Herald:PublisherJwksUrl", parse.GetValue(publisherJwks));
            Set("Herald:SubscriberJwksUrl", parse.GetValue(subscriberJwks));
            Set("Herald:Issuer", parse.GetValue(issuer));
            Set("Herald:ResourceIdentifier", parse.GetValue(resourceIdentifier));
            Set("Herald:CookieName", parse.GetValue(cookieName));
            if (parse.GetValue(protocol) is { } version)
            {
                if (ProtocolSetting(version) is not { } setting)
                {
                    await Console.Error.WriteLineAsync($"herald: --protocol '{version}' is not a protocol version; use 0 (1.0 and 0.x clients) or 1 (1.0 only)").ConfigureAwait(false);
                    return 2;
                }

                Set("Herald:Protocol", setting);
            }
            if (parse.GetValue(anonymous))
            {
                Set("Herald:Anonymous", "true");
            }

            if (parse.GetValue(subscriptions))
            {
                Set("Herald:Subscriptions", "true");
            }

            SetList("Herald:CorsOrigins", parse.GetValue(cors));
            SetList("Herald:PublishOrigins", parse.GetValue(publishOrigins));
            if (parse.GetValue(dataDir) is { } directory)
            {
                // Set even when empty: "" is how to ask for history in memory over the default directory.
                settings["Herald:DataDir"] = directory;
            }

            if (parse.GetValue(demo))
            {
                Set(Demos.DemoEndpoints.EnabledKey, "true");
            }

            if (parse.GetValue(ui))
            {
                Set(DebugUi.EnabledKey, "true");
            }

            Set("Herald:Transport", parse.GetValue(transport));
            Set("Logging:Console:FormatterName", parse.GetValue(logFormat));
            if (parse.GetValue(noMetrics))
            {
                Set(TelemetryExport.EnabledKey, "false");
            }

            if (parse.GetValue(metricsPort) is { } port)
            {
                if (!int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out var number) || number is < 1 or > 65535)
                {
                    await Console.Error.WriteLineAsync($"herald: --metrics-port '{port}' is not a port; use 1-65535").ConfigureAwait(false);
                    return 2;
                }

                Set(TelemetryExport.PortKey, port);
            }

            foreach (var (option, key) in new[] { (heartbeat, "Herald:Heartbeat"), (writeTimeout, "Herald:WriteTimeout"), (shutdownDrain, "Herald:ShutdownDrain") })
            {
                if (parse.GetValue(option) is { } text)
                {
                    if (Durations.TryParse(text, out var value))
                    {
                        Set(key, value.ToString("c", CultureInfo.InvariantCulture));
                    }
                    else
                    {
                        await Console.Error.WriteLineAsync($"herald: {option.Name} '{text}' is not a duration; use e.g. 15s, 500ms, 10m or 1h").ConfigureAwait(false);
                        return 2;
                    }
                }
            }

            if (KeyFileSettings(parse, (jwtKey, jwtKeyFile), (publisherKey, publisherKeyFile), (subscriberKey, subscriberKeyFile), settings) is { } keyError)
            {
                await Console.Error.WriteLineAsync("herald: " + keyError).ConfigureAwait(false);
                return 2;
            }

            if (Tls.Apply(parse, tls, parse.GetValue(urls), settings) is { } tlsProblem)
            {
                await Console.Error.WriteLineAsync("herald: " + tlsProblem).ConfigureAwait(false);
                return 2;
            }

            return await RunAsync(settings, parse.GetValue(demo), parse.GetValue(printToken), cancellationToken).ConfigureAwait(false);
        });
        return command;
    }

    /// <summary>
    /// What <c>herald serve</c> starts from; appsettings, environment and flags all win. History is durable by
    /// default: SQLite in <c>./herald-data</c>, beside the generated key.
    /// </summary>
    internal static Dictionary<string, string?> Defaults(bool demo)
    {
        var defaults = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase)
        {
            ["Herald:DataDir"] = Path.GetFullPath(HubServer.DefaultDataDir),
        };
        if (demo)
        {
            foreach (var (key, value) in Demos.DemoEndpoints.ServeDefaults)
            {
                defaults[key] = value;
            }
        }

        return defaults;
    }

    /// <summary>
    /// Sets the key-file settings from the flags; a role's own flag (key or file) wins over the shared one, as
    /// <c>--publisher-jwt-key</c> wins over <c>--jwt-key</c>. The one line to print when two flags give the same key.
    /// </summary>
    private static string? KeyFileSettings(
        ParseResult parse,
        (Option<string> Key, Option<string> File) shared,
        (Option<string> Key, Option<string> File) publisher,
        (Option<string> Key, Option<string> File) subscriber,
        Dictionary<string, string?> settings)
    {
        foreach (var (key, file) in new[] { shared, publisher, subscriber })
        {
            if (parse.GetValue(key) is not null && parse.GetValue(file) is not null)
            {
                return $"{key.Name} and {file.Name} both give the key; pass one (the file keeps it off the command line)";
            }
        }

        foreach (var (role, own) in new[] { ("Publisher", publisher), ("Subscriber", subscriber) })
        {
            if (parse.GetValue(own.File) is { } path)
            {
                // The shared --jwt-key set this role's key too; the role's own file replaces it.
                settings.Remove($"Herald:{role}JwtKey");
                settings[$"Herald:{role}JwtKeyFile"] = path;
            }
            else if (parse.GetValue(own.Key) is null && parse.GetValue(shared.File) is { } sharedPath)
            {
                settings[$"Herald:{role}JwtKeyFile"] = sharedPath;
            }
        }

        return null;
    }

    private static async Task<int> RunAsync(Dictionary<string, string?> settings, bool demo, bool printToken, CancellationToken cancellationToken)
    {
        WebApplication app;
        try
        {
            app = HubServer.Build([], settings, defaults: Defaults(demo));
            _ = app.Services.GetRequiredService<IOptions<HeraldOptions>>().Value;
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is HistoryStoreException or IOException or UnauthorizedAccessException or InvalidOperationException or OptionsValidationException
            or System.Security.Cryptography.CryptographicException)
        {
            await Console.Error.WriteLineAsync("herald: cannot start the hub: " + e.Message.Split('\n')[0]).ConfigureAwait(false);
            return 1;
        }

        var options = app.Services.GetRequiredService<IOptions<HeraldOptions>>().Value;
        var demos = app.Services.GetService<Demos.DemoTokens>() is not null;
        foreach (var address in HubServer.Addresses(app).Where(address => !TelemetryExport.IsMetricsPort(app.Configuration, address)))
        {
            var root = address.TrimEnd('/');
            Console.WriteLine($"herald: hub at {root}/.well-known/mercure" + (demos ? $" (demos at {root}/)" : string.Empty));
        }

        if (TelemetryExport.Describe(app, HubServer.Addresses(app)) is { } metrics)
        {
            Console.WriteLine(metrics);
        }

        if (DebugUi.IsEnabled(app.Configuration))
        {
            foreach (var address in HubServer.Addresses(app))
            {
                Console.WriteLine($"herald: debug page at {address.TrimEnd('/')}{DebugUi.Path}/");
            }
        }

        Console.WriteLine("herald: history: " + DescribeHistory(app.Services.GetRequiredService<Herald.Mercure.MercureHub>().Store, options));
        StartupTokenFile? tokenFile = null;
        if (HubServer.KeyOf(app).Generated && options.PublisherJwtKey is { } key && StartupToken(key, options, HubServer.Addresses(app)) is { } token)
        {
            try
            {
                tokenFile = StartupTokenFile.Write(token, options.DataDir);
                Console.WriteLine($"herald: a token to publish and subscribe to any topic (valid 24 h) is in {tokenFile.Path} (readable by you only"
                    + (printToken ? "):" : "; --print-token prints it here)"));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Console.WriteLine("herald: the startup token could not be written to a file (" + e.Message.Split('\n')[0] + "); --print-token prints it here");
            }

            if (printToken)
            {
                Console.WriteLine(token);
            }
        }

        using (tokenFile)
        {
            await app.WaitForShutdownAsync(cancellationToken).ConfigureAwait(false);
        }

        return 0;
    }

    /// <summary>What <c>--protocol</c> sets <c>Herald:Protocol</c> to, or <c>null</c> for a value it does not know.</summary>
    internal static string? ProtocolSetting(string version) => version.Trim() switch
    {
        "0" or "0.x" => nameof(MercureProtocol.Compatible),
        "1" or "1.0" => nameof(MercureProtocol.V1),
        _ => null,
    };

    /// <summary>
    /// The token printed on a generated key, for the way the hub is configured: a Mercure 1.0 access token when an issuer
    /// owns the key (its <c>aud</c> the resource identifier, else the hub URL at each address the hub listens on, loopback
    /// ones under <c>localhost</c> too), else a 0.x token; none for a 1.0-only hub whose key belongs to no issuer.
    /// </summary>
    internal static string? StartupToken(string key, HeraldOptions options, IReadOnlyList<string> addresses)
    {
        var lifetime = TimeSpan.FromDays(1);
        if (string.IsNullOrWhiteSpace(options.Issuer))
        {
            return options.Protocol == MercureProtocol.V1 ? null : TokenIssuer.Create(key, publish: ["*"], subscribe: ["*"], lifetime);
        }

        var audience = new List<string>();
        if (!string.IsNullOrEmpty(options.ResourceIdentifier))
        {
            audience.Add(options.ResourceIdentifier);
        }
        else
        {
            foreach (var address in addresses)
            {
                if (!Uri.TryCreate(address, UriKind.Absolute, out var uri))
                {
                    continue;
                }

                var root = address.TrimEnd('/');
                audience.Add(root + HubPath);
                if (uri.IsLoopback || uri.Host is "0.0.0.0" or "[::]" or "*" or "+")
                {
                    audience.Add($"{uri.Scheme}://localhost:{uri.Port}{HubPath}");
                }
            }
        }

        if (audience.Count == 0)
        {
            return null;
        }

        Selector[] all = [Selector.Exact(Selector.Wildcard)];
        return TokenIssuer.CreateAccessToken(key, new AccessTokenRequest(options.Issuer, [.. audience.Distinct(StringComparer.Ordinal)], lifetime, all, all));
    }

    /// <summary>Where acknowledged updates live, so nobody mistakes a hub that forgets on restart for a durable one.</summary>
    private static string DescribeHistory(IUpdateStore store, HeraldOptions options) => store switch
    {
        SqliteUpdateStore sqlite => $"SQLite in {sqlite.DatabasePath}",
        MemoryUpdateStore => "in memory: not durable (lost on restart; no data directory)",

        // Only the scheme: the rest of the URL may hold a password.
        _ => $"in the cluster's shared log ({options.Transport?.Split("://")[0]}://…)",
    };
}
