using System.Net;
using System.Text;
using Herald.Tests.Infrastructure;

namespace Herald.Tests.Hardening;

/// <summary>
/// CORS with <c>*</c>: any site may read public streams, but only origins listed by name get credentials (a
/// signed-in visitor's cookie), and the opaque origin <c>null</c> is never echoed. Before, <c>*</c> echoed every
/// origin, <c>null</c> included, with <c>Access-Control-Allow-Credentials: true</c>.
/// </summary>
public sealed class CorsTests
{
    private const string Named = "https://app.example.com";
    private const string Evil = "https://evil.example.com";

    private static Task<TestHub> Start(params string[] origins)
    {
        var settings = new Dictionary<string, string?>();
        for (var i = 0; i < origins.Length; i++)
        {
            settings[$"Herald:CorsOrigins:{i}"] = origins[i];
        }

        return TestHub.StartAsync(settings);
    }

    private static async Task<HttpResponseMessage> Subscribe(TestHub hub, string origin)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, hub.HubUrl + "?topic=t");
        request.Headers.Authorization = new("Bearer", TestHub.SubscriberToken());
        request.Headers.Add("Origin", origin);
        return await hub.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).WaitAsync(TimeSpan.FromSeconds(30));
    }

    private static async Task<HttpResponseMessage> Preflight(TestHub hub, string origin, string path = "")
    {
        var request = new HttpRequestMessage(HttpMethod.Options, hub.HubUrl + path);
        request.Headers.Add("Origin", origin);
        request.Headers.Add("Access-Control-Request-Method", "GET");
        request.Headers.Add("Access-Control-Request-Headers", "last-event-id");
        return await hub.Client.SendAsync(request).WaitAsync(TimeSpan.FromSeconds(30));
    }

    private static string? Header(HttpResponseMessage response, string name)
        => response.Headers.TryGetValues(name, out var values) ? string.Join(",", values) : null;

    [Fact]
    public async Task A_cross_origin_script_can_read_why_it_was_refused_and_when_to_come_back()
    {
        await using var hub = await Start(Named);

        // A forged token: 401 with the RFC 6750 challenge, which a 1.0 browser client reads to fetch a fresh token.
        var request = new HttpRequestMessage(HttpMethod.Get, hub.HubUrl + "?topic=t");
        request.Headers.Authorization = new("Bearer", "not.a.token");
        request.Headers.Add("Origin", Named);
        using var refused = await hub.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.NotEmpty(refused.Headers.WwwAuthenticate);
        var exposed = Header(refused, "Access-Control-Expose-Headers")!.Split(", ");
        Assert.Contains("WWW-Authenticate", exposed);
        Assert.Contains("Retry-After", exposed);
        Assert.Contains("Mercure-Last-Event-ID", exposed);
    }

    [Theory]
    [InlineData(Evil)]
    [InlineData("null")]
    public async Task A_wildcard_answers_any_origin_with_a_star_and_no_credentials(string origin)
    {
        await using var hub = await Start("*");

        using var stream = await Subscribe(hub, origin);
        Assert.Equal(HttpStatusCode.OK, stream.StatusCode);
        Assert.Equal("*", Header(stream, "Access-Control-Allow-Origin"));
        Assert.Null(Header(stream, "Access-Control-Allow-Credentials"));

        using var preflight = await Preflight(hub, origin);
        Assert.Equal(HttpStatusCode.NoContent, preflight.StatusCode);
        Assert.Equal("*", Header(preflight, "Access-Control-Allow-Origin"));
        Assert.Null(Header(preflight, "Access-Control-Allow-Credentials"));

        using var subscriptions = await Preflight(hub, origin, "/subscriptions");
        Assert.Equal("*", Header(subscriptions, "Access-Control-Allow-Origin"));
        Assert.Null(Header(subscriptions, "Access-Control-Allow-Credentials"));
    }

    [Fact]
    public async Task A_publish_answered_under_a_wildcard_carries_no_credentials()
    {
        await using var hub = await Start("*");
        var request = new HttpRequestMessage(HttpMethod.Post, hub.HubUrl) { Content = new FormUrlEncodedContent([new("topic", "t"), new("data", "x")]) };
        request.Headers.Authorization = new("Bearer", TestHub.PublisherToken());
        request.Headers.Add("Origin", Evil);

        using var response = await hub.Client.SendAsync(request).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("*", Header(response, "Access-Control-Allow-Origin"));
        Assert.Null(Header(response, "Access-Control-Allow-Credentials"));
    }

    [Fact]
    public async Task Beside_a_wildcard_an_origin_listed_by_name_is_echoed_with_credentials()
    {
        await using var hub = await Start("*", Named);

        using var named = await Subscribe(hub, Named);
        Assert.Equal(Named, Header(named, "Access-Control-Allow-Origin"));
        Assert.Equal("true", Header(named, "Access-Control-Allow-Credentials"));
        Assert.Equal("Origin", Header(named, "Vary"));

        using var namedPreflight = await Preflight(hub, Named);
        Assert.Equal(Named, Header(namedPreflight, "Access-Control-Allow-Origin"));
        Assert.Equal("true", Header(namedPreflight, "Access-Control-Allow-Credentials"));

        using var other = await Subscribe(hub, Evil);
        Assert.Equal("*", Header(other, "Access-Control-Allow-Origin"));
        Assert.Null(Header(other, "Access-Control-Allow-Credentials"));
        Assert.Equal("Origin", Header(other, "Vary"));
    }

    [Fact]
    public async Task The_null_origin_is_not_echoed_even_when_listed()
    {
        await using var hub = await Start("null", Named);

        using var preflight = await Preflight(hub, "null");
        Assert.Equal(HttpStatusCode.Forbidden, preflight.StatusCode);
        Assert.Null(Header(preflight, "Access-Control-Allow-Origin"));

        using var stream = await Subscribe(hub, "null");
        Assert.Equal(HttpStatusCode.OK, stream.StatusCode);
        Assert.Null(Header(stream, "Access-Control-Allow-Origin"));
        Assert.Null(Header(stream, "Access-Control-Allow-Credentials"));
    }

    [Theory]
    [InlineData("*")]
    [InlineData("https://\u00e9.example")]
    public async Task A_non_ASCII_Origin_is_never_answered_500_on_either_path(string allowed)
    {
        // Latin-1: one byte per character, as a client can send it.
        var origin = Encoding.Latin1.GetBytes("Origin: https://\u00e9.example");
        await using (var hub = await Start(allowed))
        {
            var status = await HardeningHubs.StatusOfRawRequestAsync(hub.BaseUrl, HardeningHubs.SubscribeHead(hub.BaseUrl, origin));
            Assert.True(status is 0 or 200 or (>= 400 and < 500), $"answered {status}");
        }

        var (app, baseUrl) = await HardeningHubs.StartKestrelOnlyAsync(o => o.CorsOrigins.Add(allowed));
        await using (app)
        {
            var status = await HardeningHubs.StatusOfRawRequestAsync(baseUrl, HardeningHubs.SubscribeHead(baseUrl, origin));
            Assert.True(status is 0 or 200 or (>= 400 and < 500), $"answered {status}");
        }
    }
}
