using Herald.DirectHttp;
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
    /// Keeps the hub's connections on this endpoint, together with those of every other endpoint that uses it, under
    /// <see cref="Herald.HeraldOptions.MaxConnections"/> (by default what the process's open-file limit leaves room
    /// for): a connection over it is answered <c>503</c> with <c>Retry-After</c> and closed, instead of taking the last
    /// descriptors the process needs to run. Call it first, before <c>UseHttps</c> and <see cref="UseHeraldSubscriptions"/>,
    /// so it counts every connection. Needs <c>AddHerald()</c>.
    /// </summary>
    /// <example><code>
    /// builder.WebHost.ConfigureKestrel(k => k.ConfigureEndpointDefaults(listen => listen.UseHeraldConnectionLimit().UseHeraldSubscriptions()));
    /// </code></example>
    public static ListenOptions UseHeraldConnectionLimit(this ListenOptions listenOptions)
    {
        ArgumentNullException.ThrowIfNull(listenOptions);
        var shared = listenOptions.ApplicationServices.GetService<SharedConnectionLimit>()
            ?? throw new InvalidOperationException("UseHeraldConnectionLimit() needs the hub's services: call services.AddHerald() first.");
        var connections = shared.For(listenOptions.KestrelServerOptions.Limits);
        listenOptions.Use(next => new ConnectionLimitMiddleware(next, connections).OnConnectionAsync);
        return listenOptions;
    }
}
