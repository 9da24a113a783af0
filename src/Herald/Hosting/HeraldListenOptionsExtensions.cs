using Herald.DirectHttp;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;

namespace Microsoft.AspNetCore.Hosting;

/// <summary>Kestrel endpoint options for the Herald hub.</summary>
public static class HeraldListenOptionsExtensions
{
    /// <summary>
    /// Serves Mercure subscriptions on this endpoint straight from the connection: a plain HTTP/1.1
    /// <c>GET</c> of the hub's path (as mounted by <c>MapHerald</c>) that opens a connection is answered by the hub
    /// itself, which writes the event stream to the socket without Kestrel's HTTP layer in between — far less
    /// memory per idle subscriber and less CPU per event. Everything else on the endpoint (TLS, HTTP/2, other
    /// paths, later requests on a kept-alive connection) is Kestrel's as before. App middleware does not run for
    /// the subscriptions served this way.
    /// </summary>
    /// <example><code>
    /// builder.WebHost.ConfigureKestrel(k => k.ConfigureEndpointDefaults(listen => listen.UseHeraldSubscriptions()));
    /// </code></example>
    public static ListenOptions UseHeraldSubscriptions(this ListenOptions listenOptions)
    {
        ArgumentNullException.ThrowIfNull(listenOptions);
        var services = listenOptions.ApplicationServices;
        listenOptions.Use(next => new SubscribeConnectionMiddleware(next, services).OnConnectionAsync);
        return listenOptions;
    }

    /// <summary>
    /// Makes Herald's listener Kestrel's transport for TCP endpoints: a connection that opens with a plain
    /// subscription to the hub is served by the hub on its socket and never becomes a Kestrel connection (the least
    /// memory per idle subscriber); every other connection is handed to Kestrel's sockets transport unchanged. Use it
    /// with <see cref="UseHeraldSubscriptions"/>, which catches subscriptions the listener leaves to Kestrel.
    /// </summary>
    public static IWebHostBuilder UseHeraldListener(this IWebHostBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.ConfigureServices(services => services.AddSingleton<IConnectionListenerFactory, SubscriptionListenerFactory>());
    }
}
