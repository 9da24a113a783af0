using System.Collections.Frozen;

namespace Herald.Cli;

/// <summary>
/// The debug page of <c>herald serve --ui</c> (<c>Ui__Enabled=true</c>): subscribe with any matchers, publish a test
/// update and list the subscriptions, from a browser, with a token pasted into the page.
/// </summary>
/// <remarks>
/// <para>
/// It lives at <see cref="Path"/>, where Mercure's own debugger is, so someone coming from Mercure finds it, and so a
/// proxy that forwards only the hub's path forwards the page too. It never meets the demo pages, which are served
/// from <c>/</c> out of wwwroot: the page's files are embedded in this assembly, not in wwwroot, so <c>--demo</c>
/// alone cannot serve them.
/// </para>
/// <para>
/// Safe to turn on in production because it holds nothing: its files are the same bytes for every hub, rendered from
/// no configuration (the page finds the hub as its parent path), and the browser calls the hub's ordinary endpoints
/// with the token the user pasted, so the page can do exactly what that token allows and nothing more.
/// </para>
/// </remarks>
internal static class DebugUi
{
    /// <summary>Configuration key that turns the page on (<c>herald serve --ui</c>). Off by default.</summary>
    public const string EnabledKey = "Ui:Enabled";

    /// <summary>The page's path, below the hub's (Mercure serves its debugger at the same place).</summary>
    public const string Path = HeraldEndpointRouteBuilderExtensions.DefaultPath + "/ui";

    /// <summary>
    /// The page's policy: its own scripts and styles only (no inline script, so text shown on it can never run), and
    /// connections to this origin only, so a pasted token can only ever be sent to this hub.
    /// </summary>
    public const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
        + "object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    private const string ResourcePrefix = "Herald.Cli.DebugUi.";

    /// <summary>The files under <see cref="Path"/>, by name, with their media types; nothing else is ever served.</summary>
    private static readonly FrozenDictionary<string, string> MediaTypes = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["index.html"] = "text/html; charset=utf-8",
        ["debug-ui.css"] = "text/css; charset=utf-8",
        ["debug-ui.js"] = "text/javascript; charset=utf-8",
    }.ToFrozenDictionary(StringComparer.Ordinal);

    /// <summary>Whether configuration turns the page on.</summary>
    public static bool IsEnabled(IConfiguration configuration) => configuration.GetValue(EnabledKey, defaultValue: false);

    /// <summary>
    /// Maps the page when configuration asks for it; nothing otherwise, so the path answers 404 like any other
    /// unknown one. The files are read once here (a few kilobytes), so serving them touches no disk.
    /// </summary>
    public static WebApplication MapDebugUi(this WebApplication app)
    {
        if (!IsEnabled(app.Configuration))
        {
            return app;
        }

        var files = MediaTypes.ToFrozenDictionary(pair => pair.Key, pair => (Bytes: Read(pair.Key), MediaType: pair.Value), StringComparer.Ordinal);

        // One route for the page and its files: routing ignores a trailing slash, so ".../ui" and ".../ui/" both land here.
        app.MapGet(Path + "/{file?}", (HttpContext context, string? file) =>
        {
            if (file is null && !context.Request.Path.Value!.EndsWith('/'))
            {
                // The page names its files relative to itself, so it must be read from ".../ui/". Relative, so this
                // works behind a proxy that mounts the hub under a prefix.
                return Results.Redirect("ui/");
            }

            if (!files.TryGetValue(file ?? "index.html", out var asset))
            {
                return Results.NotFound();
            }

            AddHeaders(context.Response.Headers);
            return Results.Bytes(asset.Bytes, asset.MediaType);
        });
        return app;
    }

    /// <summary>Headers on every file of the page, the page itself above all (its policy is what matters).</summary>
    private static void AddHeaders(IHeaderDictionary headers)
    {
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        headers.XContentTypeOptions = "nosniff";
        headers["Referrer-Policy"] = "no-referrer";
        headers["Cross-Origin-Opener-Policy"] = "same-origin";
        headers.CacheControl = "no-cache";
    }

    private static byte[] Read(string name)
    {
        using var stream = typeof(DebugUi).Assembly.GetManifestResourceStream(ResourcePrefix + name)
            ?? throw new InvalidOperationException($"the debug page's {name} is missing from the assembly");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}
