namespace Herald.Diagnostics;

/// <summary>
/// The names under which <c>AddHerald()</c> registers the hub's health checks, for an app that maps its own health
/// endpoints: <c>app.MapHealthChecks("/readyz", new() { Predicate = c =&gt; c.Tags.Contains(HeraldHealthChecks.ReadyTag) })</c>.
/// </summary>
/// <remarks>
/// There is no liveness check: a hub that answers HTTP is live, so a liveness endpoint runs no check
/// (<c>Predicate = _ =&gt; false</c>). Readiness is the history store: started, and able to take an update now (for
/// Redis: reachable, and this node's reader caught up with the shared log). A store of an app's own takes part by
/// implementing <see cref="Microsoft.Extensions.Diagnostics.HealthChecks.IHealthCheck"/> too.
/// </remarks>
public static class HeraldHealthChecks
{
    /// <summary>The tag of the checks that say whether the hub can serve now (<c>ready</c>, the usual readiness tag).</summary>
    public const string ReadyTag = "ready";

    /// <summary>The name of the check of the hub's history store.</summary>
    public const string HistoryCheckName = "herald-history";
}
