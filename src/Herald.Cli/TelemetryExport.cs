using Microsoft.AspNetCore.Http;
using System.Globalization;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Herald.Cli;

/// <summary>
/// What <c>herald serve</c> exports of the hub's <c>Herald</c> meter and activity source, through OpenTelemetry:
/// Prometheus text at <c>/metrics</c> (on by default, on the hub's own port unless <see cref="PortKey"/> moves it),
/// and OTLP (metrics and traces) when the standard <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set.
/// </summary>
/// <remarks>
/// The library knows nothing of this: it only records through <c>System.Diagnostics</c>, and an app embedding the hub
/// collects the same with <c>AddMeter("Herald")</c> and <c>AddSource("Herald")</c>. Spans are collected only when
/// OTLP is on: nothing else would read them, and with no listener the hub starts none.
/// </remarks>
internal static class TelemetryExport
{
    /// <summary><c>false</c> turns the Prometheus endpoint off (<c>--no-metrics</c>).</summary>
    public const string EnabledKey = "Metrics:Enabled";

    /// <summary>A port of its own for the Prometheus endpoint (<c>--metrics-port</c>), on the hub's hosts; not served on the hub's port then.</summary>
    public const string PortKey = "Metrics:Port";

    /// <summary>Where Prometheus scrapes.</summary>
    public const string ScrapePath = "/metrics";

    private const string OtlpEndpointKey = "OTEL_EXPORTER_OTLP_ENDPOINT";

    /// <summary>Registers the exporters the configuration asks for; with a metrics port, listens on it too.</summary>
    /// <exception cref="InvalidOperationException"><see cref="PortKey"/> is not a port number.</exception>
    public static void AddTelemetryExport(this WebApplicationBuilder builder)
    {
        var configuration = builder.Configuration;
        var prometheus = configuration.GetValue(EnabledKey, defaultValue: true);
        var otlp = !string.IsNullOrWhiteSpace(configuration[OtlpEndpointKey]);
        if (!prometheus && !otlp)
        {
            return;
        }

        if (prometheus && MetricsPort(configuration) is { } port)
        {
            var urls = builder.WebHost.GetSetting(WebHostDefaults.ServerUrlsKey) ?? HubServer.DefaultUrl;
            var all = urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            builder.WebHost.UseUrls([.. all, .. all.Select(url => WithPort(url, port)).Distinct(StringComparer.OrdinalIgnoreCase)]);
        }

        var version = typeof(TelemetryExport).Assembly.GetName().Version?.ToString();
        var telemetry = builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(configuration["OTEL_SERVICE_NAME"] ?? "herald", serviceVersion: version))
            .WithMetrics(metrics =>
            {
                metrics.AddMeter(Herald.Diagnostics.HeraldMetrics.MeterName);
                if (prometheus)
                {
                    metrics.AddPrometheusExporter();
                }

                if (otlp)
                {
                    metrics.AddOtlpExporter();
                }
            });
        if (otlp)
        {
            // ASP.NET Core's request spans too: the hub's spans are their children, and a trace should not point at a
            // parent the backend never received.
            telemetry.WithTracing(tracing => tracing
                .AddSource(Herald.Diagnostics.HeraldTracing.SourceName, "Microsoft.AspNetCore")
                .AddOtlpExporter());
        }
    }

    /// <summary>Serves <c>/metrics</c>: on the hub's port, or only on connections to the metrics port when there is one.</summary>
    public static void MapTelemetryExport(this WebApplication app)
    {
        if (!app.Configuration.GetValue(EnabledKey, defaultValue: true))
        {
            return;
        }

        if (MetricsPort(app.Configuration) is { } port)
        {
            // The port the connection came in on, not the Host header (RequireHost), which any client can set.
            app.UseOpenTelemetryPrometheusScrapingEndpoint(context => context.Connection.LocalPort == port && context.Request.Path == ScrapePath);

            // The metrics port serves metrics only: an operator who opens it to a monitoring network must not open the
            // hub's publish endpoint, pages and APIs there too. (A GET subscription taken over by Herald's direct socket
            // listener is answered before this pipeline, with the hub's own authorization, as on the hub's port.)
            app.Use((context, next) =>
            {
                if (context.Connection.LocalPort != port)
                {
                    return next(context);
                }

                context.Response.StatusCode = StatusCodes.Status404NotFound;
                return Task.CompletedTask;
            });
        }
        else
        {
            app.MapPrometheusScrapingEndpoint(ScrapePath);
        }
    }

    /// <summary>Where the running hub serves <c>/metrics</c>, for <c>herald serve</c> to print; <c>null</c> when it does not.</summary>
    public static string? Describe(WebApplication app, IReadOnlyList<string> addresses)
    {
        if (!app.Configuration.GetValue(EnabledKey, defaultValue: true))
        {
            return null;
        }

        var port = MetricsPort(app.Configuration);
        var at = addresses
            .Where(address => port is null || (Uri.TryCreate(address, UriKind.Absolute, out var uri) && uri.Port == port))
            .Select(address => address.TrimEnd('/') + ScrapePath);
        return "herald: metrics (Prometheus) at " + string.Join(", ", at);
    }

    /// <summary>Whether <paramref name="address"/> is the metrics port's (the hub answers there too, but is not announced there).</summary>
    public static bool IsMetricsPort(IConfiguration configuration, string address)
        => configuration.GetValue(EnabledKey, defaultValue: true)
            && MetricsPort(configuration) is { } port
            && Uri.TryCreate(address, UriKind.Absolute, out var uri)
            && uri.Port == port;

    /// <summary>The metrics port, or <c>null</c> for the hub's own.</summary>
    private static int? MetricsPort(IConfiguration configuration)
    {
        var text = configuration[PortKey];
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is > 0 and <= 65535
            ? port
            : throw new InvalidOperationException($"{PortKey} '{text}' is not a port: use 1-65535");
    }

    /// <summary><paramref name="url"/> (<c>http://host:port</c>, host possibly <c>+</c>, <c>*</c> or <c>[::]</c>) on <paramref name="port"/>.</summary>
    internal static string WithPort(string url, int port)
    {
        var schemeEnd = url.IndexOf("://", StringComparison.Ordinal);
        var hostStart = schemeEnd < 0 ? 0 : schemeEnd + 3;
        var pathStart = url.IndexOf('/', hostStart);
        var authority = pathStart < 0 ? url[hostStart..] : url[hostStart..pathStart];
        var colon = authority.LastIndexOf(':');
        var host = colon > authority.LastIndexOf(']') ? authority[..colon] : authority;
        return string.Create(CultureInfo.InvariantCulture, $"{url[..hostStart]}{host}:{port}");
    }
}
