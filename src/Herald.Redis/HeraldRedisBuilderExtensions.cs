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
    /// history and transport; with an empty transport the hub keeps its local store (SQLite or memory). Every node
    /// of a cluster names the same Redis and key prefix.
    /// </summary>
    public static IHeraldBuilder UseRedis(this IHeraldBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.Replace(ServiceDescriptor.Singleton<UpdateStoreFactory>(CreateStore));
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

    private static IUpdateStore CreateStore(IServiceProvider services, IUpdateSink sink)
    {
        var options = services.GetRequiredService<IOptions<HeraldOptions>>().Value;
        if (string.IsNullOrEmpty(options.Transport))
        {
            return HeraldServiceCollectionExtensions.CreateLocalStore(services, sink);
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
        return new RedisUpdateStore(options, transport, sink, logger: logger);
    }
}
