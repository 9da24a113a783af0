using Herald.Cli.Demos;

namespace Herald.Tests.Browser;

/// <summary>
/// The settings <c>herald serve --demo</c> runs the demos with (<see cref="DemoEndpoints.ServeDefaults"/>: presence,
/// a cookie name browsers accept over plain HTTP, the issuer the demos' Mercure 1.0 tokens name), plus a test's own.
/// </summary>
internal static class DemoSettings
{
    public static Dictionary<string, string?> Serve(IDictionary<string, string?>? more = null)
    {
        var settings = new Dictionary<string, string?>(DemoEndpoints.ServeDefaults, StringComparer.OrdinalIgnoreCase);
        foreach (var (key, value) in more ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        return settings;
    }
}
