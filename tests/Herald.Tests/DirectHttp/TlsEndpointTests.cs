using System.Net;
using System.Net.Sockets;
using System.Text;
using Herald.Tests.Cli;
using Herald.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Herald.Tests.DirectHttp;

/// <summary>
/// An https:// port of a hub whose listener and connection middleware see each connection before Kestrel's TLS layer
/// (installed with the endpoint defaults, as <c>herald serve</c> runs them): whatever arrives there is Kestrel's — a
/// plaintext subscription is refused as Kestrel refuses any plaintext request on a TLS port, a silent client meets
/// Kestrel's handshake timeout and never a plaintext answer, garbage is closed — while TLS subscribers and the
/// cleartext port beside it are served as before.
/// </summary>
public sealed class TlsEndpointTests
{
    private const string Topic = "https://example.com/tls-endpoint";
    private static readonly string TopicQuery = "topic=" + Uri.EscapeDataString(Topic);

    [Theory]
    [InlineData(true)] // connections accepted by Herald's listener
    [InlineData(false)] // connections accepted by Kestrel, seen by the connection middleware
    public async Task A_plaintext_subscription_sent_to_the_TLS_port_is_refused_and_the_cleartext_port_still_serves_it(bool listener)
    {
        using var certificate = HttpsCertificate.Create();
        await using var app = await StartAsync(certificate, listener);
        var (https, http) = Addresses(app);
        var hub = app.Services.GetRequiredService<Herald.Mercure.MercureHub>();

        using (var socket = await ConnectAsync(https))
        {
            await socket.SendAsync(Encoding.ASCII.GetBytes($"GET /.well-known/mercure?{TopicQuery} HTTP/1.1\r\nHost: {https.Authority}\r\n\r\n"));
            var answer = await ReadUntilClosedAsync(socket);
            Assert.False(answer.StartsWith("HTTP/", StringComparison.Ordinal), "a plaintext answer on the TLS port: " + answer);
        }

        Assert.Equal(0, hub.SubscriberCount);

        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        using var response = await client.GetAsync(new Uri(http, "/.well-known/mercure?" + TopicQuery), HttpCompletionOption.ResponseHeadersRead)
            .WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await TestHub.Eventually(() => hub.SubscriberCount == 1, "the cleartext subscriber");
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_client_silent_on_the_TLS_port_is_closed_without_a_plaintext_answer(bool listener)
    {
        using var certificate = HttpsCertificate.Create();
        await using var app = await StartAsync(certificate, listener);
        var (https, _) = Addresses(app);
        using var socket = await ConnectAsync(https);

        // Past the head timeout (1 s here) the hub used to answer a plaintext 408 where a ClientHello was due; now
        // Kestrel's handshake timeout (2 s here) ends the connection, with nothing sent.
        Assert.Equal(string.Empty, await ReadUntilClosedAsync(socket));
    }

    [Fact]
    public async Task Garbage_in_place_of_a_handshake_is_closed_and_a_TLS_subscriber_beside_it_gets_exactly_its_updates_until_it_leaves()
    {
        using var certificate = HttpsCertificate.Create();
        await using var app = await StartAsync(certificate, listener: true);
        var (https, _) = Addresses(app);
        var hub = app.Services.GetRequiredService<Herald.Mercure.MercureHub>();

        // A handshake record header (0x16) announcing 64 KB, then junk: Kestrel's TLS layer refuses it.
        using (var socket = await ConnectAsync(https))
        {
            var garbage = new byte[16 * 1024];
            new Random(17).NextBytes(garbage);
            garbage[0] = 0x16;
            garbage[1] = 0x03;
            garbage[2] = 0x01;
            garbage[3] = 0xFF;
            garbage[4] = 0xFF;
            try
            {
                await socket.SendAsync(garbage);
            }
            catch (SocketException)
            {
                // Refused before all of it was sent.
            }

            var answer = await ReadUntilClosedAsync(socket);
            Assert.False(answer.StartsWith("HTTP/", StringComparison.Ordinal), "a plaintext answer on the TLS port: " + answer);
        }

        using var client = certificate.Client(HttpVersion.Version11);
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(https, "/.well-known/mercure?" + TopicQuery))
        {
            Version = HttpVersion.Version11,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal((HttpStatusCode.OK, HttpVersion.Version11), (response.StatusCode, response.Version));
        var reader = await SseReader.OpenAsync(response);
        try
        {
            await TestHub.Eventually(() => hub.SubscriberCount == 1, "the TLS subscriber");
            await hub.PublishAsync(new Update { Topics = ["https://example.com/other"], Data = "not for it" });
            var first = await hub.PublishAsync(new Update { Topics = [Topic], Data = "one" });
            var second = await hub.PublishAsync(new Update { Topics = [Topic], Data = "two" });

            var one = await reader.NextAsync();
            var two = await reader.NextAsync();
            Assert.Equal((first, "one"), (one?.EventId, one?.Data));
            Assert.Equal((second, "two"), (two?.EventId, two?.Data));
        }
        finally
        {
            await reader.DisposeAsync();
        }

        await TestHub.Eventually(() => hub.SubscriberCount == 0, "the TLS subscriber to leave");
    }

    /// <summary>
    /// A hub on an https:// and an http:// port of 127.0.0.1, with the connection middleware in the endpoint defaults
    /// (ahead of TLS) and, when <paramref name="listener"/>, Herald's listener as the transport.
    /// </summary>
    private static async Task<WebApplication> StartAsync(HttpsCertificate certificate, bool listener)
    {
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseUrls("https://127.0.0.1:0", "http://127.0.0.1:0");
        if (listener)
        {
            builder.WebHost.UseHeraldListener();
        }

        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Limits.RequestHeadersTimeout = TimeSpan.FromSeconds(1);
            k.ConfigureEndpointDefaults(listen => listen.UseHeraldSubscriptions());
            k.ConfigureHttpsDefaults(https =>
            {
                https.ServerCertificate = certificate.Certificate;
                https.HandshakeTimeout = TimeSpan.FromSeconds(2);
            });
        });
        builder.Logging.ClearProviders();
        builder.Services.AddHerald(o => o.Anonymous = true);
        var app = builder.Build();
        app.MapHerald();
        await app.StartAsync().WaitAsync(TimeSpan.FromSeconds(30));
        return app;
    }

    private static (Uri Https, Uri Http) Addresses(WebApplication app)
    {
        var addresses = Herald.Cli.HubServer.Addresses(app).Select(a => new Uri(a)).ToList();
        return (addresses.Single(a => a.Scheme == "https"), addresses.Single(a => a.Scheme == "http"));
    }

    private static async Task<Socket> ConnectAsync(Uri address)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, address.Port).WaitAsync(TimeSpan.FromSeconds(30));
        return socket;
    }

    /// <summary>What the server sends until it closes the connection (within 60 s), as ASCII.</summary>
    private static async Task<string> ReadUntilClosedAsync(Socket socket)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var received = new MemoryStream();
        var buffer = new byte[4096];
        try
        {
            int n;
            while ((n = await socket.ReceiveAsync(buffer, SocketFlags.None, deadline.Token)) > 0)
            {
                received.Write(buffer, 0, n);
            }
        }
        catch (SocketException)
        {
            // A reset ends it as well.
        }
        catch (OperationCanceledException)
        {
            Assert.Fail("the connection was still open after 60 s");
        }

        return Encoding.ASCII.GetString(received.ToArray());
    }
}
