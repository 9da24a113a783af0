using System.Text;
using Herald.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Herald.Tests.Hardening;

/// <summary>
/// The hand-written request parser of the direct subscription path must not be laxer than Kestrel: every head below
/// goes to three hubs with the same Kestrel limits (256 KiB request line and headers, as <c>herald serve</c> sets;
/// 100 header fields): <c>herald serve</c> itself (Herald's listener and its connection middleware), one with the
/// connection middleware only, and one without any direct path. Each must answer with the status Kestrel gives.
/// </summary>
public sealed class MalformedHeadTests(MalformedHeadTests.Hubs hubs) : IClassFixture<MalformedHeadTests.Hubs>
{
    private const string Target = "/.well-known/mercure?topic=a";
    private const string Line = "GET " + Target + " HTTP/1.1\r\n";
    private const string HostLine = "Host: localhost\r\n";

    private static readonly Dictionary<string, byte[]> Cases = new()
    {
        ["a plain subscription (control)"] = Ascii(Line + HostLine + "\r\n"),
        ["two spaces after the method"] = Ascii("GET  " + Target + " HTTP/1.1\r\n" + HostLine + "\r\n"),
        ["two spaces before the version"] = Ascii("GET " + Target + "  HTTP/1.1\r\n" + HostLine + "\r\n"),
        ["a space before the method"] = Ascii(" " + Line + HostLine + "\r\n"),
        ["a space in the target"] = Ascii("GET /.well-known/mercure?topic=a b HTTP/1.1\r\n" + HostLine + "\r\n"),
        ["a tab instead of a space"] = Ascii("GET\t" + Target + " HTTP/1.1\r\n" + HostLine + "\r\n"),
        ["a tab in the target"] = Ascii("GET /.well-known/mercure?topic=a\tb HTTP/1.1\r\n" + HostLine + "\r\n"),
        ["a bare LF inside the target"] = Ascii("GET /.well-known/mercure?topic=a\nb HTTP/1.1\r\n" + HostLine + "\r\n"),
        ["a bare CR inside the target"] = Ascii("GET /.well-known/mercure?topic=a\rb HTTP/1.1\r\n" + HostLine + "\r\n"),
        ["bare LF line ends"] = Ascii("GET " + Target + " HTTP/1.1\nHost: localhost\n\n"),
        ["a bare LF ending one header"] = Ascii(Line + "Host: localhost\nAccept: */*\r\n\r\n"),
        ["a bare CR inside a header value"] = Ascii(Line + HostLine + "X-A: one\rtwo\r\n\r\n"),
        ["a NUL in the target"] = Ascii("GET /.well-known/mercure?topic=a\0b HTTP/1.1\r\n" + HostLine + "\r\n"),
        ["a NUL in a header value"] = Ascii(Line + HostLine + "X-A: a\0b\r\n\r\n"),
        ["a NUL in a header name"] = Ascii(Line + HostLine + "X-\0A: v\r\n\r\n"),
        ["a non-ASCII byte in the target"] = Latin1("GET /.well-known/mercure?topic=caf\u00e9 HTTP/1.1\r\n" + HostLine + "\r\n"),
        ["UTF-8 in the target"] = Encoding.UTF8.GetBytes("GET /.well-known/mercure?topic=caf\u00e9 HTTP/1.1\r\n" + HostLine + "\r\n"),
        ["a non-ASCII byte in a header value"] = Latin1(Line + HostLine + "X-A: caf\u00e9\r\n\r\n"),
        ["a non-ASCII byte in a header name"] = Latin1(Line + HostLine + "X-\u00e9: v\r\n\r\n"),
        ["DEL in the target"] = Ascii("GET /.well-known/mercure?topic=a\u007fb HTTP/1.1\r\n" + HostLine + "\r\n"),
        ["a control byte in a header value"] = Ascii(Line + HostLine + "X-A: a\u001bb\r\n\r\n"),
        ["unencoded braces and quotes in the query"] = Ascii("GET /.well-known/mercure?topic=/books/{id}&x=\"<>|^`\\ HTTP/1.1\r\n" + HostLine + "\r\n"),
        ["a fragment in the target"] = Ascii("GET /.well-known/mercure?topic=a#frag HTTP/1.1\r\n" + HostLine + "\r\n"),
        ["HTTP/1.0"] = Ascii("GET " + Target + " HTTP/1.0\r\n" + HostLine + "\r\n"),
        ["HTTP/1.0 without Host"] = Ascii("GET " + Target + " HTTP/1.0\r\n\r\n"),
        ["HTTP/2.0 on an HTTP/1 connection"] = Ascii("GET " + Target + " HTTP/2.0\r\n" + HostLine + "\r\n"),
        ["an unknown version"] = Ascii("GET " + Target + " HTTP/1.12\r\n" + HostLine + "\r\n"),
        ["a lower-case version"] = Ascii("GET " + Target + " http/1.1\r\n" + HostLine + "\r\n"),
        ["no version"] = Ascii("GET " + Target + "\r\n" + HostLine + "\r\n"),
        ["a lower-case method"] = Ascii("get " + Target + " HTTP/1.1\r\n" + HostLine + "\r\n"),
        ["absolute-form"] = Ascii("GET http://localhost" + Target + " HTTP/1.1\r\n" + HostLine + "\r\n"),
        ["absolute-form with a bad authority"] = Ascii("GET http://[bad" + Target + " HTTP/1.1\r\n" + HostLine + "\r\n"),
        ["absolute-form without an authority"] = Ascii("GET http:" + Target + " HTTP/1.1\r\n" + HostLine + "\r\n"),
        ["absolute-form with another scheme"] = Ascii("GET ftp://localhost" + Target + " HTTP/1.1\r\n" + HostLine + "\r\n"),
        ["authority-form on GET"] = Ascii("GET localhost:80 HTTP/1.1\r\n" + HostLine + "\r\n"),
        ["asterisk-form on GET"] = Ascii("GET * HTTP/1.1\r\n" + HostLine + "\r\n"),
        ["an empty line before the request line"] = Ascii("\r\n" + Line + HostLine + "\r\n"),
        ["obs-fold with a space"] = Ascii(Line + HostLine + "X-A: one\r\n two\r\n\r\n"),
        ["obs-fold with a tab"] = Ascii(Line + HostLine + "X-A: one\r\n\ttwo\r\n\r\n"),
        ["a folded Host"] = Ascii(Line + "Host:\r\n localhost\r\n\r\n"),
        ["a space in a header name"] = Ascii(Line + HostLine + "X A: v\r\n\r\n"),
        ["a space before the colon"] = Ascii(Line + HostLine + "X-A : v\r\n\r\n"),
        ["a tab before the colon"] = Ascii(Line + HostLine + "X-A\t: v\r\n\r\n"),
        ["a parenthesis in a header name"] = Ascii(Line + HostLine + "X(A): v\r\n\r\n"),
        ["a quote in a header name"] = Ascii(Line + HostLine + "X\"A: v\r\n\r\n"),
        ["a slash in a header name"] = Ascii(Line + HostLine + "X/A: v\r\n\r\n"),
        ["an empty header name"] = Ascii(Line + HostLine + ": v\r\n\r\n"),
        ["a header line without a colon"] = Ascii(Line + HostLine + "X-A v\r\n\r\n"),
        ["missing Host"] = Ascii(Line + "Accept: */*\r\n\r\n"),
        ["no header at all"] = Ascii(Line + "\r\n"),
        ["two equal Hosts"] = Ascii(Line + HostLine + HostLine + "\r\n"),
        ["two different Hosts"] = Ascii(Line + HostLine + "host: other\r\n\r\n"),
        ["an empty Host"] = Ascii(Line + "Host:\r\n\r\n"),
        ["a Host with a port"] = Ascii(Line + "Host: localhost:8080\r\n\r\n"),
        ["a Host with an empty port"] = Ascii(Line + "Host: localhost:\r\n\r\n"),
        ["a Host with a bad port"] = Ascii(Line + "Host: localhost:8o\r\n\r\n"),
        ["a Host with userinfo"] = Ascii(Line + "Host: user@localhost\r\n\r\n"),
        ["a Host with a path"] = Ascii(Line + "Host: localhost/path\r\n\r\n"),
        ["a Host with a space, path and userinfo"] = Ascii(Line + "Host: a b/c@d\r\n\r\n"),
        ["a Host with a query"] = Ascii(Line + "Host: localhost?x\r\n\r\n"),
        ["an IPv6 Host"] = Ascii(Line + "Host: [::1]:8080\r\n\r\n"),
        ["an unclosed IPv6 Host"] = Ascii(Line + "Host: [::1\r\n\r\n"),
        ["a Host with a percent escape"] = Ascii(Line + "Host: local%41host\r\n\r\n"),
        ["Transfer-Encoding chunked on GET"] = Ascii(Line + HostLine + "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
        ["Transfer-Encoding identity on GET"] = Ascii(Line + HostLine + "Transfer-Encoding: identity\r\n\r\n"),
        ["Transfer-Encoding and Content-Length"] = Ascii(Line + HostLine + "Transfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n0\r\n\r\n"),
        ["Content-Length 0"] = Ascii(Line + HostLine + "Content-Length: 0\r\n\r\n"),
        ["Content-Length 0 twice"] = Ascii(Line + HostLine + "Content-Length: 0\r\nContent-Length: 0\r\n\r\n"),
        ["Content-Length 0 and 1"] = Ascii(Line + HostLine + "Content-Length: 0\r\ncontent-length: 1\r\n\r\nx"),
        ["Content-Length as a list"] = Ascii(Line + HostLine + "Content-Length: 0, 0\r\n\r\n"),
        ["Content-Length negative"] = Ascii(Line + HostLine + "Content-Length: -1\r\n\r\n"),
        ["Content-Length not a number"] = Ascii(Line + HostLine + "Content-Length: abc\r\n\r\n"),
        ["Expect 100-continue"] = Ascii(Line + HostLine + "Expect: 100-continue\r\n\r\n"),
        ["a request line over 256 KiB"] = Ascii("GET " + Target + new string('a', 270 * 1024) + " HTTP/1.1\r\n" + HostLine + "\r\n"),
        ["a request line a little under 256 KiB"] = Ascii("GET " + Target + new string('a', 250 * 1024) + " HTTP/1.1\r\n" + HostLine + "\r\n"),
        ["a header over 256 KiB"] = Ascii(Line + HostLine + "X-A: " + new string('v', 270 * 1024) + "\r\n\r\n"),
        ["headers over 256 KiB in total"] = Ascii(Line + HostLine + string.Concat(Enumerable.Range(0, 90).Select(i => $"X-{i}: {new string('v', 3000)}\r\n")) + "\r\n"),
        ["100 header fields"] = Ascii(Line + HostLine + string.Concat(Enumerable.Range(0, 99).Select(i => $"X-{i}: v\r\n")) + "\r\n"),
        ["101 header fields"] = Ascii(Line + HostLine + string.Concat(Enumerable.Range(0, 100).Select(i => $"X-{i}: v\r\n")) + "\r\n"),
        ["20,000 header fields"] = Ascii(Line + HostLine + string.Concat(Enumerable.Range(0, 20_000).Select(i => "X: v\r\n")) + "\r\n"),
    };

    public static TheoryData<string> CaseNames => [.. Cases.Keys];

    [Theory]
    [MemberData(nameof(CaseNames))]
    public async Task Every_path_answers_a_head_with_the_status_Kestrel_gives(string name)
    {
        var request = Cases[name];

        var kestrel = await RawHttp.SendAsync(hubs.KestrelOnly, request);
        var serve = await RawHttp.SendAsync(hubs.Serve, request);
        var middleware = await RawHttp.SendAsync(hubs.MiddlewareOnly, request);

        Assert.NotEqual(0, kestrel.Status);
        Assert.Equal(kestrel.Status, serve.Status);
        Assert.Equal(kestrel.Status, middleware.Status);
    }

    [Fact]
    public async Task After_every_malformed_head_the_hubs_still_serve_a_subscription()
    {
        foreach (var request in Cases.Values)
        {
            await RawHttp.SendAsync(hubs.Serve, request);
        }

        var response = await RawHttp.SendAsync(hubs.Serve, Cases["a plain subscription (control)"]);
        Assert.Equal(200, response.Status);
        Assert.True(response.ServedDirectly, response.Head);
    }

    private static byte[] Ascii(string text) => Encoding.ASCII.GetBytes(text);

    private static byte[] Latin1(string text) => Encoding.Latin1.GetBytes(text);

    /// <summary>The three hubs, started once for every case.</summary>
    public sealed class Hubs : IAsyncLifetime
    {
        private TestHub? _serve;
        private WebApplication? _middlewareOnly;
        private WebApplication? _kestrelOnly;

        public string Serve { get; private set; } = string.Empty;

        public string MiddlewareOnly { get; private set; } = string.Empty;

        public string KestrelOnly { get; private set; } = string.Empty;

        public async Task InitializeAsync()
        {
            _serve = await TestHub.StartAsync(new Dictionary<string, string?> { ["Herald:Anonymous"] = "true" });
            Serve = _serve.BaseUrl;
            _middlewareOnly = await StartAsync(middleware: true);
            MiddlewareOnly = Herald.Cli.HubServer.Addresses(_middlewareOnly).First().TrimEnd('/');
            _kestrelOnly = await StartAsync(middleware: false);
            KestrelOnly = Herald.Cli.HubServer.Addresses(_kestrelOnly).First().TrimEnd('/');
        }

        public async Task DisposeAsync()
        {
            if (_serve is not null)
            {
                await _serve.DisposeAsync();
            }

            foreach (var app in new[] { _middlewareOnly, _kestrelOnly })
            {
                if (app is not null)
                {
                    await app.StopAsync().WaitAsync(TimeSpan.FromSeconds(30));
                    await app.DisposeAsync();
                }
            }
        }

        private static async Task<WebApplication> StartAsync(bool middleware)
        {
            var builder = WebApplication.CreateBuilder();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.WebHost.ConfigureKestrel(k =>
            {
                // As herald serve sets them (HubServer).
                k.Limits.MaxRequestLineSize = 256 * 1024;
                k.Limits.MaxRequestHeadersTotalSize = 256 * 1024;
                if (middleware)
                {
                    k.ConfigureEndpointDefaults(listen => listen.UseHeraldSubscriptions());
                }
            });
            builder.Logging.ClearProviders();
            builder.Services.AddHerald(o => o.Anonymous = true);
            var app = builder.Build();
            app.MapHerald();
            await app.StartAsync().WaitAsync(TimeSpan.FromSeconds(30));
            return app;
        }
    }
}
