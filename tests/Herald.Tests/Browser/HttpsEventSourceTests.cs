using System.Net;
using Herald.Tests.Cli;
using Herald.Tests.Infrastructure;

namespace Herald.Tests.Browser;

/// <summary>
/// Ten EventSources on one page against one HTTPS hub. Over HTTP/1.1 a browser opens at most six connections to an
/// origin, so the seventh stream would wait forever; over HTTP/2 they share one connection. The hub's certificate
/// comes from Kestrel's own configuration (<c>Kestrel:Certificates:Default</c>), which <c>herald serve</c>'s flags
/// set too; the browser is told to accept it.
/// </summary>
[Collection(DemoBrowserCollection.Name)]
public sealed class HttpsEventSourceTests(DemoBrowser chromium) : IAsyncLifetime
{
    private const int Streams = 10;

    public Task InitializeAsync() => chromium.ResetAsync();

    public Task DisposeAsync() => chromium.ResetAsync();

    [Fact]
    public async Task Ten_EventSources_on_one_page_each_receive_their_updates_over_HTTP2()
    {
        using var certificate = HttpsCertificate.Create();
        await using var hub = await TestHub.StartAsync(new Dictionary<string, string?>
        {
            ["urls"] = "https://127.0.0.1:0",
            ["Kestrel:Certificates:Default:Path"] = certificate.CertPemPath,
            ["Kestrel:Certificates:Default:KeyPath"] = certificate.KeyPemPath,
            ["Herald:Anonymous"] = "true",
        });
        Assert.StartsWith("https://", hub.BaseUrl, StringComparison.Ordinal);

        await using var context = await chromium.Browser.NewContextAsync(new() { IgnoreHTTPSErrors = true });
        context.SetDefaultTimeout(DemoBrowser.WaitMs);
        var page = await context.NewPageAsync();
        var errors = new List<string>();
        page.PageError += (_, error) => errors.Add(error);

        // Same origin as the hub, in a document that opens no stream of its own.
        await page.GotoAsync(hub.BaseUrl + "/favicon.svg");
        Assert.Equal("h2", await page.EvaluateAsync<string>("() => performance.getEntriesByType('navigation')[0].nextHopProtocol"));
        await page.EvaluateAsync(
            """
            ([hub, count]) => {
              window.received = Array.from({ length: count }, () => []);
              window.opened = 0;
              for (let i = 0; i < count; i++) {
                const es = new EventSource(hub + '?topic=' + encodeURIComponent('https://example.com/streams/' + i));
                es.onopen = () => { window.opened++; };
                es.onmessage = e => window.received[i].push(e.data);
              }
            }
            """,
            new object[] { hub.HubUrl, Streams });
        await page.WaitForFunctionAsync($"() => window.opened === {Streams}");
        await TestHub.Eventually(() => hub.Hub.SubscriberCount == Streams, "all ten streams registered at the hub");

        // The test hub's own client would refuse the self-signed certificate: publish with one that trusts it.
        using var publisher = certificate.Client(HttpVersion.Version20);
        for (var i = 0; i < Streams; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, hub.HubUrl)
            {
                Content = new FormUrlEncodedContent([new("topic", $"https://example.com/streams/{i}"), new("data", $"update {i}")]),
                Version = HttpVersion.Version20,
                VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            };
            request.Headers.Authorization = new("Bearer", TestHub.PublisherToken());
            using var published = await publisher.SendAsync(request).WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(HttpStatusCode.OK, published.StatusCode);
        }

        // Each stream gets its own topic's update and nothing else.
        await page.WaitForFunctionAsync($"() => window.received.every(r => r.length >= 1)");
        var received = await page.EvaluateAsync<string[][]>("() => window.received");
        for (var i = 0; i < Streams; i++)
        {
            Assert.Equal(new[] { $"update {i}" }, received[i]);
        }

        Assert.Empty(errors);
    }
}
