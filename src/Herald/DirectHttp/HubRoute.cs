using Herald.Mercure;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Cors.Infrastructure;
using Microsoft.AspNetCore.HostFiltering;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Timeouts;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;

namespace Herald.DirectHttp;

/// <summary>
/// Where <c>MapHerald</c> mounted the hub, so the connection level (<c>UseHeraldListener</c>,
/// <c>UseHeraldSubscriptions</c>) knows which requests are subscriptions, and whether it may serve them itself.
/// </summary>
/// <remarks>
/// A subscription served on its connection skips the app's middleware. That is only right while nothing the app set up
/// would treat it differently, so subscriptions go through Kestrel and the app's pipeline like any request when:
/// <list type="bullet">
/// <item>the subscribe endpoint carries a convention that middleware enforces (<c>RequireAuthorization</c>,
/// <c>RequireCors</c>, <c>RequireHost</c>, rate limiting, request timeouts);</item>
/// <item>the app has an authorization fallback policy (it applies to the hub's endpoints), a global rate limiter or a
/// default request timeout (decided once, like the conventions);</item>
/// <item>the request's Host is not one the app's host filter (<c>AllowedHosts</c>) allows, so its middleware
/// answers 400; or the request carries a forwarded header (<c>X-Forwarded-For</c>, <c>-Proto</c>, <c>-Host</c>,
/// <c>-Prefix</c>, <c>Forwarded</c>, or the names configured in <see cref="ForwardedHeadersOptions"/>), which the
/// app's forwarded-headers middleware may turn into another client address, scheme or host (decided per request).</item>
/// </list>
/// The endpoint's final metadata is known only once the app's endpoints are built, so the first connection looks it up.
/// </remarks>
internal sealed class HubRoute(IServiceProvider services)
{
    private static readonly string[] DefaultForwardedHeaders =
    [
        ForwardedHeadersDefaults.XForwardedForHeaderName, ForwardedHeadersDefaults.XForwardedProtoHeaderName,
        ForwardedHeadersDefaults.XForwardedHostHeaderName, ForwardedHeadersDefaults.XForwardedPrefixHeaderName, "Forwarded",
    ];

    private readonly Lock _gate = new();
    private string? _path;
    private IEndpointRouteBuilder? _endpoints;
    private object? _marker;
    private bool _checked;
    private string? _directPath;
    private HashSet<string>? _forwardedHeaders;
    private IOptionsMonitor<HostFilteringOptions>? _hostFiltering;
    private AllowedHosts? _allowedHosts;

    public SubscribeEndpoint? Subscribe { get; private set; }

    /// <summary>Called by <c>MapHerald</c> (outside route groups) with the hub's subscribe endpoint.</summary>
    public void Mount(string path, SubscribeEndpoint subscribe, IEndpointRouteBuilder endpoints, IEndpointConventionBuilder get)
    {
        var marker = new object();
        get.WithMetadata(new SubscribeEndpointMarker(marker));
        lock (_gate)
        {
            _path = path;
            _endpoints = endpoints;
            _marker = marker;
            _checked = false;
            Subscribe = subscribe;
        }
    }

    /// <summary>
    /// The hub's path when subscriptions may be served on their connections; null when the hub is not mapped, or
    /// when its subscribe endpoint or the app asks for something the app's middleware must apply.
    /// </summary>
    public string? DirectPath
    {
        get
        {
            // Decided once per mount; every connection after the first reads it without a lock.
            if (Volatile.Read(ref _checked))
            {
                return _directPath;
            }

            lock (_gate)
            {
                if (!_checked && _path is not null)
                {
                    _directPath = NeedsThePipeline() ? null : _path;
                    _forwardedHeaders = ForwardedHeaderNames();
                    _hostFiltering = services.GetService<IOptionsMonitor<HostFilteringOptions>>();
                    Volatile.Write(ref _checked, true);
                }

                return _directPath;
            }
        }
    }

    /// <summary>
    /// Whether a subscription head may be served on its connection: its Host passes the app's host filter and it
    /// carries no forwarded header. False hands it to Kestrel, where the app's middleware judges it.
    /// </summary>
    public bool Admits(RequestHead head)
    {
        string? host = null;
        foreach (var (name, value) in head.Headers)
        {
            if (_forwardedHeaders!.Contains(name))
            {
                return false;
            }

            if (host is null && name.Equals("Host", StringComparison.OrdinalIgnoreCase))
            {
                host = value;
            }
        }

        return host is not null && HostAllowed(host);
    }

    private bool HostAllowed(string host)
    {
        if (_hostFiltering?.CurrentValue is not { } options)
        {
            return true;
        }

        // Recomputed only when the options change (AllowedHosts is reloadable, as the middleware's is).
        var allowed = _allowedHosts;
        if (allowed is null || !ReferenceEquals(allowed.Options, options))
        {
            _allowedHosts = allowed = new AllowedHosts(options);
        }

        return allowed.Hosts is null || HostString.MatchesAny(new StringSegment(host), allowed.Hosts);
    }

    private HashSet<string> ForwardedHeaderNames()
    {
        var names = new HashSet<string>(DefaultForwardedHeaders, StringComparer.OrdinalIgnoreCase);
        if (services.GetService<IOptions<ForwardedHeadersOptions>>()?.Value is { } options)
        {
            names.Add(options.ForwardedForHeaderName);
            names.Add(options.ForwardedProtoHeaderName);
            names.Add(options.ForwardedHostHeaderName);
            names.Add(options.ForwardedPrefixHeaderName);
        }

        return names;
    }

    private bool NeedsThePipeline()
    {
        if (services.GetService<IOptions<RateLimiterOptions>>()?.Value.GlobalLimiter is not null
            || services.GetService<IOptions<RequestTimeoutOptions>>()?.Value.DefaultPolicy is not null)
        {
            return true;
        }

        var fallback = services.GetService<IOptions<AuthorizationOptions>>()?.Value.FallbackPolicy;
        foreach (var source in _endpoints!.DataSources)
        {
            foreach (var endpoint in source.Endpoints)
            {
                var metadata = endpoint.Metadata;
                if (metadata.GetMetadata<SubscribeEndpointMarker>()?.Owner != _marker)
                {
                    continue;
                }

                // The fallback policy applies to every endpoint that states nothing about authorization.
                if (fallback is not null && metadata.GetMetadata<IAllowAnonymous>() is null)
                {
                    return true;
                }

                foreach (var item in metadata)
                {
                    if (item is IAuthorizeData or AuthorizationPolicy or ICorsMetadata or IHostMetadata or EnableRateLimitingAttribute or RequestTimeoutAttribute or RequestTimeoutPolicy)
                    {
                        return true;
                    }
                }

                return false;
            }
        }

        // Not found (endpoints filtered out by the app): leave subscriptions to the pipeline.
        return true;
    }

    /// <summary>The host filter's allowed hosts as its middleware reads them: null when any host is allowed.</summary>
    private sealed class AllowedHosts
    {
        public AllowedHosts(HostFilteringOptions options)
        {
            Options = options;
            if (options.AllowedHosts is not { Count: > 0 } entries)
            {
                return;
            }

            var hosts = new List<StringSegment>(entries.Count);
            foreach (var entry in entries)
            {
                // Punycode, as the middleware compares: the Host header carries the ASCII form.
                var host = new HostString(entry).ToUriComponent();
                if (host is "*" or "[::]" or "0.0.0.0")
                {
                    return;
                }

                hosts.Add(host);
            }

            Hosts = hosts;
        }

        public HostFilteringOptions Options { get; }

        public List<StringSegment>? Hosts { get; }
    }

    /// <summary>Marks the subscribe endpoint of one mounted hub.</summary>
    private sealed record SubscribeEndpointMarker(object Owner);
}
