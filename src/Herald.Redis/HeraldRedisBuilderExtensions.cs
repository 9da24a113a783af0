using System.Diagnostics.Metrics;
using Herald;
using Herald.Redis;
using Herald.Storage;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Lets a Herald hub run as one node of a cluster that shares its updates through Redis.</summary>
public static class HeraldRedisBuilderExtensions
{
    /// <summary>
    /// Makes <see cref="HeraldOptions.Transport"/> = <c>redis://host:port</c> select Redis Streams as the hub's
    /// history and transport; with an empty transport the hub keeps the store it had (the local one, SQLite or memory,
    /// unless <c>UseStore</c> chose another before). Every node of a cluster names the same Redis and key prefix.
    /// </summary>
    /// <remarks>Call it after <c>AddHerald()</c>: the store registered then is what an empty transport falls back to.</remarks>
    public static IHeraldBuilder UseRedis(this IHeraldBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);

        // The transport is known only once options are bound, so the choice is made when the hub builds its store.
        var fallback = builder.Services.LastOrDefault(d => d.ServiceType == typeof(UpdateStoreFactory))?.ImplementationInstance as UpdateStoreFactory
            ?? throw new InvalidOperationException("Call AddHerald() before UseRedis(): an empty Herald:Transport falls back to the store AddHerald() registers.");
        builder.Services.Replace(ServiceDescriptor.Singleton<UpdateStoreFactory>((services, sink) => CreateStore(services, sink, fallback)));
        return builder;
    }

    /// <summary>Uses the Redis at <paramref name="transport"/> (<c>redis://[[user]:password@]host[:port][/database][?prefix=NAME]</c>).</summary>
    public static IHeraldBuilder UseRedis(this IHeraldBuilder builder, string transport)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(transport);
        builder.Services.Configure<HeraldOptions>(options => options.Transport = transport);
        return builder.UseRedis();
    }

    private static IUpdateStore CreateStore(IServiceProvider services, IUpdateSink sink, UpdateStoreFactory fallback)
    {
        var options = services.GetRequiredService<IOptions<HeraldOptions>>().Value;
        if (string.IsNullOrEmpty(options.Transport))
        {
            return fallback(services, sink);
        }

        RedisTransport transport;
        try
        {
            transport = RedisTransport.Parse(options.Transport);
        }
        catch (FormatException ex)
        {
            throw new InvalidOperationException(ex.Message, ex);
        }

        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger("Herald.Redis");
        return new RedisUpdateStore(options, transport, sink, logger: logger) { MeterFactory = services.GetService<IMeterFactory>() };
    }
}
