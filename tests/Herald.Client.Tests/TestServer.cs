using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Herald.Client.Tests;

/// <summary>A real Kestrel server on 127.0.0.1 and a free port, with the endpoints a test maps.</summary>
internal sealed class TestServer : IAsyncDisposable
{
    /// <summary>The bound on every await in these tests: generous, as it only runs out when a test fails.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private readonly WebApplication _app;

    private TestServer(WebApplication app, Uri baseAddress)
    {
        _app = app;
        BaseAddress = baseAddress;
    }

    public Uri BaseAddress { get; }

    public Uri Url(string pathAndQuery) => new(BaseAddress, pathAndQuery);

    public static async Task<TestServer> StartAsync(Action<WebApplication> map, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        configure?.Invoke(builder);
        var app = builder.Build();
        map(app);
        await app.StartAsync().WaitAsync(Timeout);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new TestServer(app, new Uri(address + "/"));
    }

    public async ValueTask DisposeAsync()
    {
        // A stream still held open is aborted when the stop token fires rather than waited for.
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        await _app.StopAsync(stop.Token).WaitAsync(Timeout);
        await _app.DisposeAsync();
    }

    /// <summary>Starts an event stream response and flushes the given text at once.</summary>
    public static async Task StartStreamAsync(HttpContext context, string text = ":\n\n")
    {
        context.Response.ContentType = "text/event-stream";
        context.Response.Headers.CacheControl = "no-cache";
        await WriteAsync(context, text);
    }

    public static async Task WriteAsync(HttpContext context, string text)
    {
        await context.Response.Body.WriteAsync(Encoding.UTF8.GetBytes(text), context.RequestAborted);
        await context.Response.Body.FlushAsync(context.RequestAborted);
    }

    /// <summary>Keeps a response open until the client goes away or the server stops.</summary>
    public static async Task HoldAsync(HttpContext context)
    {
        var stopping = context.RequestServices.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
        using var either = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, stopping);
        try
        {
            await Task.Delay(System.Threading.Timeout.Infinite, either.Token);
        }
        catch (OperationCanceledException)
        {
        }
    }
}
