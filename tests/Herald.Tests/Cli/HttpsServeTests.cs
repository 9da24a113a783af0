using System.Net;
using System.Text.RegularExpressions;
using Herald.Cli;
using Herald.Tests.Client;
using Herald.Tests.Infrastructure;

namespace Herald.Tests.Cli;

/// <summary>
/// <c>herald serve</c> with a certificate, as a real process: HTTP/2 (ALPN) and HTTP/1.1 on its TLS endpoint,
/// HTTP/1.1 only in cleartext, and one line with exit code 2 for a certificate it cannot use.
/// </summary>
public sealed partial class HttpsServeTests
{
    private const string Topic = "https://example.com/tls";

    [Fact]
    public async Task A_PEM_certificate_serves_HTTP2_and_HTTP11_over_TLS_beside_cleartext_HTTP11()
    {
        using var certificate = HttpsCertificate.Create();
        await using var hub = StartServe(["--cert-file", certificate.CertPemPath, "--cert-key-file", certificate.KeyPemPath]);
        var (https, http) = await AddressesAsync(hub);
        using var h2 = certificate.Client(HttpVersion.Version20);
        using var h1 = certificate.Client(HttpVersion.Version11);

        await using var overH2 = await SubscribeAsync(h2, https);
        await using var overH1 = await SubscribeAsync(h1, https);
        await using var cleartext = await SubscribeAsync(h1, http);
        Assert.Equal(HttpVersion.Version20, overH2.Response.Version);
        Assert.Equal(HttpVersion.Version11, overH1.Response.Version);
        Assert.Equal(HttpVersion.Version11, cleartext.Response.Version);

        // HTTP/2 forbids connection-specific headers; the event stream must not carry any.
        Assert.False(overH2.Response.Headers.Contains("Connection"));
        Assert.Null(overH2.Response.Headers.TransferEncodingChunked);

        // The first update may reach a stream from history (it asked for everything since the earliest); once a
        // stream has it, the stream is registered, so the second one is delivered live.
        var first = await PublishAsync(h2, https, "over h2");
        var second = await PublishAsync(h1, http, "in cleartext");
        foreach (var stream in new[] { overH2, overH1, cleartext })
        {
            var one = await stream.NextAsync();
            Assert.Equal((first, "over h2"), (one?.EventId, one?.Data));
            var two = await stream.NextAsync();
            Assert.Equal((second, "in cleartext"), (two?.EventId, two?.Data));
        }

        // Over HTTP/2 the URL is one header field: a subscription naming many topics (here past HTTP/2's usual 16 KiB
        // field limit) is accepted as over HTTP/1.1.
        var many = string.Join('&', Enumerable.Range(0, 400).Select(i => "topic=" + Uri.EscapeDataString($"https://example.com/books/{i:D5}/chapters")));
        Assert.True(many.Length > 16 * 1024);
        using (var large = await h2.GetAsync(https + "?" + many, HttpCompletionOption.ResponseHeadersRead).WaitAsync(TimeSpan.FromSeconds(30)))
        {
            Assert.Equal((HttpStatusCode.OK, HttpVersion.Version20), (large.StatusCode, large.Version));
        }

        // Cleartext stays HTTP/1.1: no HTTP/2 with prior knowledge (h2c).
        await Assert.ThrowsAsync<HttpRequestException>(() => h2.GetAsync(http + "/.well-known/mercure?topic=x", HttpCompletionOption.ResponseHeadersRead).WaitAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task A_PFX_certificate_takes_its_password_from_the_environment()
    {
        using var certificate = HttpsCertificate.Create();
        await using var hub = StartServe(
            ["--cert-file", certificate.PfxPath],
            new Dictionary<string, string?> { [Tls.PasswordVariable] = HttpsCertificate.PfxPassword });
        var (https, _) = await AddressesAsync(hub);
        using var h2 = certificate.Client(HttpVersion.Version20);

        await using var stream = await SubscribeAsync(h2, https);
        var id = await PublishAsync(h2, https, "pfx");

        var received = await stream.NextAsync();
        Assert.Equal(HttpVersion.Version20, stream.Response.Version);
        Assert.Equal((id, "pfx"), (received?.EventId, received?.Data));
    }

    [Theory]
    [InlineData("wrong password", "cannot use the certificate in ")]
    [InlineData("missing file", "cannot use the certificate in ")]
    [InlineData("no https address", "--cert-file serves the https:// addresses of --urls")]
    [InlineData("password file missing", "cannot read --cert-password-file ")]
    public async Task A_certificate_it_cannot_use_is_one_line_and_exit_code_2(string problem, string expected)
    {
        using var certificate = HttpsCertificate.Create();
        var passwordFile = Path.Combine(certificate.Directory, "password");
        await File.WriteAllTextAsync(passwordFile, "not-the-password\n");
        string[] arguments = problem switch
        {
            "wrong password" => ["--urls", "https://127.0.0.1:0", "--cert-file", certificate.PfxPath, "--cert-password-file", passwordFile],
            "missing file" => ["--urls", "https://127.0.0.1:0", "--cert-file", Path.Combine(certificate.Directory, "absent.pem")],
            "no https address" => ["--urls", "http://127.0.0.1:0", "--cert-file", certificate.CertPemPath, "--cert-key-file", certificate.KeyPemPath],
            _ => ["--urls", "https://127.0.0.1:0", "--cert-file", certificate.PfxPath, "--cert-password-file", Path.Combine(certificate.Directory, "absent")],
        };

        var run = await ChildProcess.RunHeraldAsync(["serve", "--jwt-key", TestHub.Key, "--data-dir", "", .. arguments]);

        Assert.Equal(2, run.ExitCode);
        var line = Assert.Single(run.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("herald: " + expected, line, StringComparison.Ordinal);
        Assert.DoesNotContain("not-the-password", line, StringComparison.Ordinal);
        Assert.Equal(string.Empty, run.Stdout);
    }

    private static ChildProcess StartServe(string[] certificateArguments, IReadOnlyDictionary<string, string?>? environment = null)
        => ChildProcess.StartHerald(
            ["serve", "--urls", "https://127.0.0.1:0;http://127.0.0.1:0", "--jwt-key", TestHub.Key, "--anonymous", "--data-dir", "", .. certificateArguments],
            environment);

    /// <summary>The hub URLs it prints: every address comes before the history line.</summary>
    private static async Task<(string Https, string Http)> AddressesAsync(ChildProcess hub)
    {
        string? https = null, http = null;
        while (await hub.NextLineAsync(TimeSpan.FromSeconds(60)) is var line && !line.StartsWith("herald: history:", StringComparison.Ordinal))
        {
            if (HubLine().Match(line) is { Success: true } match)
            {
                _ = match.Groups[2].Value == "https" ? https = match.Groups[1].Value : http = match.Groups[1].Value;
            }
        }

        Assert.True(https is not null && http is not null, "herald serve printed both addresses: " + hub.Stdout);
        return (https!, http!);
    }

    private static async Task<SseReader> SubscribeAsync(HttpClient client, string hubUrl)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, hubUrl + "?topic=" + Uri.EscapeDataString(Topic))
        {
            // A request made here does not take the client's defaults (those are for GetAsync and the like).
            Version = client.DefaultRequestVersion,
            VersionPolicy = client.DefaultVersionPolicy,
        };
        request.Headers.Add("Last-Event-ID", "earliest");
        var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await SseReader.OpenAsync(response);
    }

    private static async Task<string> PublishAsync(HttpClient client, string hubUrl, string data)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, hubUrl)
        {
            Content = new FormUrlEncodedContent([new("topic", Topic), new("data", data)]),
            Version = client.DefaultRequestVersion,
            VersionPolicy = client.DefaultVersionPolicy,
        };
        request.Headers.Authorization = new("Bearer", TestHub.PublisherToken());
        using var response = await client.SendAsync(request).WaitAsync(TimeSpan.FromSeconds(30));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"publish failed: {(int)response.StatusCode} {body}");
        return body;
    }

    [GeneratedRegex(@"^herald: hub at ((https?)://[^/\s]+/\.well-known/mercure)")]
    private static partial Regex HubLine();
}
