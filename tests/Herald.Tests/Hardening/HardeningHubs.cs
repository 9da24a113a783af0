using System.Net.Sockets;
using System.Text;
using Herald.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Herald.Tests.Hardening;

/// <summary>
/// The two ways a subscription is served, for tests that must hold on both: <see cref="TestHub"/> (the app of
/// <c>herald serve</c>: subscriptions straight from the connection, <c>UseHeraldListener</c>) and a hub embedded
/// without the connection middleware, where Kestrel serves every request.
/// </summary>
internal static class HardeningHubs
{
    /// <summary>A hub on Kestrel alone (no <c>UseHeraldSubscriptions</c>), anonymous subscribers allowed; returns the app and its base URL.</summary>
    public static async Task<(WebApplication App, string BaseUrl)> StartKestrelOnlyAsync(Action<HeraldOptions>? configure = null)
    {
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Services.AddHerald(o =>
        {
            o.Anonymous = true;
            o.PublisherJwtKey = TestHub.Key;
            o.SubscriberJwtKey = TestHub.Key;
            configure?.Invoke(o);
        });
        var app = builder.Build();
        app.MapHerald();
        await app.StartAsync().WaitAsync(TimeSpan.FromSeconds(30));
        return (app, app.Urls.First().TrimEnd('/'));
    }

    /// <summary>
    /// Sends <paramref name="head"/> (bytes as given: hostile ones included) on a fresh connection and returns the
    /// status code of the answer, or 0 when the server closed without one (a refusal, not a 500).
    /// </summary>
    public static async Task<int> StatusOfRawRequestAsync(string baseUrl, byte[] head)
    {
        var uri = new Uri(baseUrl);
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await socket.ConnectAsync(uri.Host, uri.Port, timeout.Token);
        await socket.SendAsync(head, SocketFlags.None, timeout.Token);
        var received = new List<byte>();
        var buffer = new byte[4096];
        while (!received.Contains((byte)'\n'))
        {
            var read = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
            if (read == 0)
            {
                return 0;
            }

            received.AddRange(buffer.AsSpan(0, read));
        }

        // "HTTP/1.1 200 OK"
        var statusLine = Encoding.ASCII.GetString(received.ToArray()).Split('\n')[0];
        return int.Parse(statusLine.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>A subscription request for <c>topic=t</c> with one extra raw header line (CRLF added) and an optional query.</summary>
    public static byte[] SubscribeHead(string baseUrl, byte[]? headerLine = null, string query = "")
    {
        var authority = new Uri(baseUrl).Authority;
        var head = new List<byte>();
        head.AddRange(Encoding.ASCII.GetBytes($"GET /.well-known/mercure?topic=t{query} HTTP/1.1\r\nHost: {authority}\r\nAuthorization: Bearer {TestHub.SubscriberToken()}\r\n"));
        if (headerLine is not null)
        {
            head.AddRange(headerLine);
            head.AddRange("\r\n"u8.ToArray());
        }

        head.AddRange("\r\n"u8.ToArray());
        return head.ToArray();
    }
}
