using Herald.Mercure;
using Herald.Security;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Mounts the Herald hub's endpoints.</summary>
public static class HeraldEndpointRouteBuilderExtensions
{
    /// <summary>The Mercure hub's URL path.</summary>
    public const string DefaultPath = "/.well-known/mercure";

    /// <summary>
    /// Maps the Mercure hub registered by <c>AddHerald()</c>: <c>GET</c> (or <c>QUERY</c>) subscribes, <c>POST</c> publishes,
    /// <c>GET …/subscriptions</c> lists active subscriptions, and <c>OPTIONS</c> answers CORS preflights; at the app's root,
    /// <c>GET /.well-known/oauth-protected-resource</c> + the hub's path serves its RFC 9728 metadata.
    /// </summary>
    public static IEndpointConventionBuilder MapHerald(this IEndpointRouteBuilder endpoints, string path = DefaultPath)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var services = endpoints.ServiceProvider;
        var hub = services.GetService<MercureHub>()
            ?? throw new InvalidOperationException("Call builder.Services.AddHerald() before app.MapHerald().");
        var subscribe = services.GetRequiredService<SubscribeEndpoint>();
        var publish = services.GetRequiredService<PublishEndpoint>();
        var subscriptions = services.GetRequiredService<SubscriptionsEndpoint>();

        // Tells UseHeraldSubscriptions / UseHeraldListener which requests are subscriptions. Inside a route group the
        // hub's real path has the group's prefix (and its conventions), which the connection level cannot see: those
        // subscriptions stay on Kestrel's HTTP path.
        hub.Path = path;
        var group = endpoints.MapGroup(path);
        var get = group.MapGet(string.Empty, subscribe.HandleAsync);
        if (endpoints is not RouteGroupBuilder)
        {
            services.GetRequiredService<Herald.DirectHttp.HubRoute>().Mount(path, subscribe, endpoints, get);
        }

        group.MapPost(string.Empty, publish.HandleAsync).DisableAntiforgery();

        // Mercure 1.0: the subscribe parameters may come in a form body (matcher lists too long for a URL). Only Kestrel
        // serves it: the direct path takes GET alone.
        group.MapMethods(string.Empty, [SubscribeRequest.QueryMethod], subscribe.HandleAsync);
        group.MapGet("/subscriptions/{**rest}", subscriptions.HandleAsync);
        group.MapMethods(string.Empty, [HttpMethods.Options], (HttpContext c) => CorsHeaders.Preflight(c, hub.Options.CorsOrigins));
        group.MapMethods("/subscriptions/{**rest}", [HttpMethods.Options], (HttpContext c) => CorsHeaders.Preflight(c, hub.Options.CorsOrigins));

        // RFC 9728 metadata lives at the app's root, outside the hub's group and its conventions (it is public). Inside
        // a route group it would land under the group's prefix, where no client looks: a hub mapped there has none.
        if (endpoints is not RouteGroupBuilder)
        {
            endpoints.MapGet(ProtectedResourceMetadataEndpoint.Route, new ProtectedResourceMetadataEndpoint(hub).HandleAsync);
        }

        return group;
    }
}
