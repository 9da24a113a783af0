using Herald.Diagnostics;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;

namespace Herald.Cli;

/// <summary>
/// <c>/healthz</c> and <c>/readyz</c> of <c>herald serve</c>: liveness runs no check (a hub that answers is live; one
/// cut off from Redis must not be restarted for it), readiness runs the checks tagged <see cref="HeraldHealthChecks.ReadyTag"/>.
/// The answer is the status word alone (200 Healthy, 503 Unhealthy), never why.
/// </summary>
internal static class HealthEndpoints
{
    public const string LivePath = "/healthz";
    public const string ReadyPath = "/readyz";

    /// <summary>
    /// The health-check service logs every unhealthy probe at Error, with its description: one line per probe for as
    /// long as an outage lasts, and as many as anyone asking /readyz likes. Herald logs the outage itself once, when
    /// it begins and when it ends (SQLite events 101/103/107/108, Redis 201/202), so those lines only repeat it.
    /// </summary>
    public static void QuietProbeLog(ILoggingBuilder logging) =>
        logging.AddFilter("Microsoft.Extensions.Diagnostics.HealthChecks", LogLevel.None);

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapHealthChecks(LivePath, new HealthCheckOptions { Predicate = static _ => false });
        app.MapHealthChecks(ReadyPath, new HealthCheckOptions { Predicate = static check => check.Tags.Contains(HeraldHealthChecks.ReadyTag) });
    }
}
