using Herald.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Microsoft.AspNetCore.Builder;

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
}
