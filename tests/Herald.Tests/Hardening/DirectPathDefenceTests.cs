using System.Net;
using System.Threading.RateLimiting;
using Herald.Mercure;
using Herald.Tests.Infrastructure;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Herald.Tests.Hardening;

/// <summary>
/// The direct subscription path (Herald's listener, or its connection middleware) skips the app's middleware, so it
/// must not serve a subscription that an app-wide defence would have refused: the host filter, an authorization
/// fallback policy, a global rate limiter, forwarded headers. Each runs on a real Kestrel with the direct path on.
/// </summary>
public sealed class DirectPathDefenceTests
{
    private const string Query = "topic=https%3A%2F%2Fexample.com%2Fdefence";

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task The_host_filter_refuses_a_subscription_for_another_host(bool listener)
    {
        await using var app = await StartAsync(listener, configure: builder => builder.Configuration["AllowedHosts"] = "hub.example.com");
        var baseUrl = BaseUrl(app);

        var evil = await RawHttp.SendAsync(baseUrl, Subscription("evil.example"));
        Assert.Equal(400, evil.Status);
        Assert.Equal(0, Hub(app).SubscriberCount);

        // An allowed host is still served on the connection.
        var allowed = await RawHttp.SendAsync(baseUrl, Subscription("hub.example.com:8080"));
        Assert.Equal(200, allowed.Status);
        Assert.True(allowed.ServedDirectly, allowed.Head);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task An_authorization_fallback_policy_applies_to_subscriptions(bool listener)
    {
        await using var app = await StartAsync(listener, configure: builder =>
        {
            builder.Services.AddAuthentication("cookie").AddCookie("cookie");
            builder.Services.AddAuthorization(o => o.FallbackPolicy = new AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build());
        });

        // The hub allows anonymous subscribers, but the app asks every endpoint for a signed-in user: the cookie
        // scheme's challenge (a redirect to its login page) answers.
        var response = await RawHttp.SendAsync(BaseUrl(app), Subscription("localhost"));
        Assert.Equal(302, response.Status);
        Assert.Equal(0, Hub(app).SubscriberCount);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_global_rate_limiter_applies_to_subscriptions(bool listener)
    {
        await using var app = await StartAsync(
            listener,
            configure: builder => builder.Services.AddRateLimiter(o =>
            {
                o.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
                o.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(_ => RateLimitPartition.GetFixedWindowLimiter(
                    "everyone", _ => new FixedWindowRateLimiterOptions { PermitLimit = 1, QueueLimit = 0, Window = TimeSpan.FromHours(1) }));
            }),
            pipeline: app => app.UseRateLimiter());
        var baseUrl = BaseUrl(app);

        using var first = await RawHttp.ConnectAsync(baseUrl);
        Assert.Equal(200, (await RawHttp.SendAsync(first, System.Text.Encoding.ASCII.GetBytes(Subscription("localhost")))).Status);

        // One request an hour: the second subscription is the limiter's to refuse.
        var second = await RawHttp.SendAsync(baseUrl, Subscription("localhost"));
        Assert.Equal(429, second.Status);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Forwarded_headers_reach_the_apps_middleware_before_a_subscription_is_served(bool listener)
    {
        // The app trusts its proxy (loopback) for X-Forwarded-For and refuses one client address; the address it
        // sees is the forwarded one, which the direct path knew nothing of.
        await using var app = await StartAsync(
            listener,
            configure: builder => builder.Services.Configure<ForwardedHeadersOptions>(o => o.ForwardedHeaders = ForwardedHeaders.XForwardedFor),
            pipeline: app =>
            {
                app.UseForwardedHeaders();
                app.Use(async (context, next) =>
                {
                    if (Equals(context.Connection.RemoteIpAddress, IPAddress.Parse("203.0.113.9")))
                    {
                        context.Response.StatusCode = StatusCodes.Status403Forbidden;
                        return;
                    }

                    await next(context);
                });
            });
        var baseUrl = BaseUrl(app);

        var refused = await RawHttp.SendAsync(baseUrl, Subscription("localhost", "X-Forwarded-For: 203.0.113.9\r\n"));
        Assert.Equal(403, refused.Status);
        Assert.Equal(0, Hub(app).SubscriberCount);

        // Without a forwarded header nothing would change the request: it is still served on the connection.
        var plain = await RawHttp.SendAsync(baseUrl, Subscription("localhost"));
        Assert.Equal(200, plain.Status);
        Assert.True(plain.ServedDirectly, plain.Head);
    }

    private static string Subscription(string host, string headers = "")
        => $"GET /.well-known/mercure?{Query} HTTP/1.1\r\nHost: {host}\r\n{headers}\r\n";

    private static string BaseUrl(WebApplication app) => Herald.Cli.HubServer.Addresses(app).First().TrimEnd('/');

    private static MercureHub Hub(WebApplication app) => app.Services.GetRequiredService<MercureHub>();

    /// <summary>
    /// A hub embedded in an app with the direct path on: the connection middleware, and Herald's listener too when
    /// <paramref name="listener"/> (as <c>herald serve</c> runs).
    /// </summary>
    private static async Task<WebApplication> StartAsync(bool listener, Action<WebApplicationBuilder> configure, Action<WebApplication>? pipeline = null)
    {
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        if (listener)
        {
            builder.WebHost.UseHeraldListener();
        }

        builder.WebHost.ConfigureKestrel(k => k.ConfigureEndpointDefaults(listen => listen.UseHeraldSubscriptions()));
        builder.Logging.ClearProviders();
        builder.Services.AddHerald(o => o.Anonymous = true);
        configure(builder);
        var app = builder.Build();
        pipeline?.Invoke(app);
        app.MapHerald();
        await app.StartAsync().WaitAsync(TimeSpan.FromSeconds(30));
        return app;
    }
}
