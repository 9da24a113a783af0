using System.Net;
using Herald.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Herald.Tests.Diagnostics;

/// <summary>
/// An app embedding the hub: <c>AddHerald()</c> registers the readiness check, <c>MapHerald()</c> maps no health URL,
/// and the app maps its own with the ready tag, next to checks of its own.
/// </summary>
public sealed class HealthEmbeddedTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task An_app_maps_the_hubs_readiness_with_the_ready_tag_beside_its_own_checks()
    {
        var appReady = true;
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Herald:PublisherJwtKey"] = Infrastructure.TestHub.Key,
            ["Herald:SubscriberJwtKey"] = Infrastructure.TestHub.Key,
        });
        builder.Services.AddHerald();
        builder.Services.AddHealthChecks().AddCheck(
            "app", () => appReady ? HealthCheckResult.Healthy() : HealthCheckResult.Unhealthy(), tags: [HeraldHealthChecks.ReadyTag]);
        await using var app = builder.Build();
        app.MapHerald();
        app.MapHealthChecks("/ready", new HealthCheckOptions { Predicate = c => c.Tags.Contains(HeraldHealthChecks.ReadyTag) });
        await app.StartAsync().WaitAsync(Deadline);
        using var client = new HttpClient { BaseAddress = new Uri(Herald.Cli.HubServer.Addresses(app).First()), Timeout = Deadline };

        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/ready").WaitAsync(Deadline)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/readyz").WaitAsync(Deadline)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/healthz").WaitAsync(Deadline)).StatusCode);

        appReady = false;
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await client.GetAsync("/ready").WaitAsync(Deadline)).StatusCode);

        // The hub's own check is among them: with the app's fine and the hub's history closed, not ready either.
        appReady = true;
        await app.Services.GetRequiredService<Herald.Mercure.MercureHub>().Store.DisposeAsync();
        using var closed = await client.GetAsync("/ready").WaitAsync(Deadline);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, closed.StatusCode);
        Assert.Equal("Unhealthy", await closed.Content.ReadAsStringAsync().WaitAsync(Deadline));
        await app.StopAsync().WaitAsync(Deadline);
    }
}
