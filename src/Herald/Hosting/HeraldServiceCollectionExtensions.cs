using Herald;
using Herald.Diagnostics;
using Herald.Mercure;
using Herald.Security;
using Herald.Storage;
using Herald.Storage.Sqlite;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Herald.Topics;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers a Herald hub in an app's services.</summary>
public static class HeraldServiceCollectionExtensions
{
    /// <summary>
    /// Adds the hub and its publisher (<see cref="IHeraldPublisher"/>). Options bind from the configuration
    /// section <c>Herald</c>, then <paramref name="configure"/> runs. Mount the endpoints with <c>MapHerald()</c>.
    /// Also registers the hub's readiness check (tagged <see cref="HeraldHealthChecks.ReadyTag"/>), which
    /// <c>MapHerald()</c> does not map: <c>app.MapHealthChecks("/readyz", new() { Predicate = c =&gt; c.Tags.Contains(HeraldHealthChecks.ReadyTag) })</c>.
    /// </summary>
    public static IHeraldBuilder AddHerald(this IServiceCollection services, Action<HeraldOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<HeraldOptions>().BindConfiguration(HeraldOptions.SectionName);
        if (configure is not null)
        {
            options.Configure(configure);
        }

        services.AddHttpClient();

        // The clock token expiry and JWKS intervals are read on; an app (or a test) may register its own.
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<TopicMatcher>();
        services.AddSingleton<HubMetrics>();
        services.AddSingleton<UpdateStoreFactory>(CreateStore);
        services.AddSingleton<MercureHub>();
        services.AddHostedService<HubLifetime>();
        services.AddSingleton<IHeraldPublisher>(sp => sp.GetRequiredService<MercureHub>());
        services.AddSingleton<MercureTokenValidator>();
        services.AddSingleton(sp => sp.GetRequiredService<MercureHub>().Presence);
        services.AddSingleton<StoreOutageLog>();
        services.AddSingleton<PublishEndpoint>();
        services.AddSingleton<SubscribeEndpoint>();
        services.AddSingleton<Herald.DirectHttp.HubRoute>();
        services.AddSingleton<SubscriptionsEndpoint>();
        services.AddSingleton<RefusalLog>();

        // Registered, not mapped: an app chooses its health URLs and mixes in its own checks (HeraldHealthChecks).
        services.AddHealthChecks().AddCheck<HistoryReadinessCheck>(HeraldHealthChecks.HistoryCheckName, tags: [HeraldHealthChecks.ReadyTag]);
        return new HeraldBuilder(services);
    }

    /// <summary>The local store, unless a transport is configured: its package replaces this registration (<c>UseRedis()</c>).</summary>
    private static IUpdateStore CreateStore(IServiceProvider services, IUpdateSink sink)
    {
        var transport = services.GetRequiredService<IOptions<HeraldOptions>>().Value.Transport;
        if (!string.IsNullOrEmpty(transport))
        {
            // Only the scheme: the rest of the URL may hold a password.
            var scheme = transport.Split("://")[0];
            throw new InvalidOperationException(
                $"Herald:Transport is set ({scheme}://…) but no transport is registered: reference Herald.Redis and call AddHerald().UseRedis().");
        }

        return CreateLocalStore(services, sink);
    }

    /// <summary>History: SQLite in the data directory when there is one, else a bounded ring in memory.</summary>
    private static IUpdateStore CreateLocalStore(IServiceProvider services, IUpdateSink sink)
    {
        var options = services.GetRequiredService<IOptions<HeraldOptions>>().Value;
        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger("Herald.Storage");
        return string.IsNullOrEmpty(options.DataDir)
            ? new MemoryUpdateStore(options, sink)
            : new SqliteUpdateStore(options, sink, logger: logger);
    }

    /// <summary>
    /// Builds the hub's history and transport with <paramref name="factory"/> instead of the local store (SQLite in
    /// <see cref="HeraldOptions.DataDir"/>, else memory). The store must keep the <see cref="IUpdateStore"/> contract:
    /// durable, ordered appends with unique ids, and every stored update handed to the sink once, in order.
    /// </summary>
    public static IHeraldBuilder UseStore(this IHeraldBuilder builder, UpdateStoreFactory factory)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(factory);
        builder.Services.Replace(ServiceDescriptor.Singleton(factory));
        return builder;
    }

    private sealed class HeraldBuilder(IServiceCollection services) : IHeraldBuilder
    {
        public IServiceCollection Services { get; } = services;
    }
}
