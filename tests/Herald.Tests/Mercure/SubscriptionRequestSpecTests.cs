using System.Net;
using System.Text;
using Herald.Tests.Hardening;
using Herald.Tests.Infrastructure;

namespace Herald.Tests.Mercure;

/// <summary>
/// Mercure 1.0, "Subscription": how the request reaches the hub. The <c>QUERY</c> method with a form body (the union of
/// query and body), which paths serve what, what arrives undecoded, and the RFC 6750 answers to authorization failures.
/// </summary>
[Collection(SubscriptionHubsCollection.Name)]
public sealed class SubscriptionRequestSpecTests(SubscriptionHubs hubs)
{
    private static readonly HttpMethod Query = new("QUERY");

    [Fact]
    public async Task Subscription_QUERY_with_a_form_body_subscribes_to_the_union_of_query_and_body()
    {
        await SubscriptionHubs.OnEach(hubs.All, async hub =>
        {
            var inQuery = hub.NewTopic("query");
            var inBody = hub.NewTopic("body");
            using var response = await SendQueryAsync(hub, "match=" + Uri.EscapeDataString(inQuery), [new("match", inBody)]);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
            await hub.WaitRegisteredAsync(inBody);
            await using var reader = await SseReader.OpenAsync(response);

            await hub.PublishAsync(inBody, "body");
            await hub.PublishAsync(inQuery, "query");
            Assert.Equal("body", (await reader.NextAsync())?.Data);
            Assert.Equal("query", (await reader.NextAsync())?.Data);
        });
    }

    [Fact]
    public async Task Subscription_QUERY_last_event_id_from_the_query_wins_over_the_body()
    {
        await SubscriptionHubs.OnEach(hubs.All, async hub =>
        {
            var topic = hub.NewTopic("cursor");
            var first = await hub.PublishAsync(topic, "0");
            var second = await hub.PublishAsync(topic, "1");
            var third = await hub.PublishAsync(topic, "2");

            using (var both = await SendQueryAsync(hub, "last_event_id=" + Uri.EscapeDataString(second), [new("match", topic), new("last_event_id", first)]))
            {
                Assert.Equal(second, both.Headers.GetValues("Mercure-Last-Event-ID").Single());
                await using var reader = await SseReader.OpenAsync(both);
                Assert.Equal(third, (await reader.NextAsync())?.EventId);
            }

            // Alone in the body, it counts.
            using var bodyOnly = await SendQueryAsync(hub, string.Empty, [new("match", topic), new("last_event_id", first)]);
            Assert.Equal(first, bodyOnly.Headers.GetValues("Mercure-Last-Event-ID").Single());
        });
    }

    [Fact]
    public async Task Subscription_QUERY_body_values_obey_the_same_rules_as_the_query()
    {
        await SubscriptionHubs.OnEach(hubs.All, async hub =>
        {
            foreach (var (body, reason) in new[]
            {
                ("match_foo=a", "unsupported matcher parameter match_foo: use match, match_exact or match_urlpattern\n"),
                ("match=%FF", "match parameter is not valid UTF-8\n"),
                ("match=a%E2%80%AEb", "match parameter must not contain control or format characters\n"),
                ("match=", "empty match parameter\n"),
            })
            {
                using var response = await SendRawQueryAsync(hub, "match=a", Encoding.ASCII.GetBytes(body), "application/x-www-form-urlencoded");
                Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
                Assert.Equal(reason, await response.Content.ReadAsStringAsync());
            }
        });
    }

    [Fact]
    public async Task Subscription_QUERY_body_of_another_type_is_415_and_one_too_large_is_413()
    {
        await SubscriptionHubs.OnEach(hubs.All, async hub =>
        {
            using (var json = await SendRawQueryAsync(hub, string.Empty, "{\"match\":\"a\"}"u8.ToArray(), "application/json"))
            {
                Assert.Equal(HttpStatusCode.UnsupportedMediaType, json.StatusCode);
            }

            using (var latin1 = await SendRawQueryAsync(hub, string.Empty, "match=a"u8.ToArray(), "application/x-www-form-urlencoded; charset=iso-8859-1"))
            {
                Assert.Equal(HttpStatusCode.UnsupportedMediaType, latin1.StatusCode);
            }

            var limit = hub.Mercure.Options.MaxSubscribeBodyBytes;
            var large = Encoding.ASCII.GetBytes("match=" + new string('a', (int)limit));
            using var tooLarge = await SendRawQueryAsync(hub, string.Empty, large, "application/x-www-form-urlencoded");
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, tooLarge.StatusCode);
            Assert.Equal($"subscribe request body too large (MaxSubscribeBodyBytes: at most {limit} bytes)\n", await tooLarge.Content.ReadAsStringAsync());

            // Chunked: no length to judge up front; the body is cut off at the limit.
            var chunk = "match=" + new string('a', (int)limit);
            var chunked = await RawHttp.SendAsync(
                hub.BaseUrl,
                $"QUERY /.well-known/mercure HTTP/1.1\r\nHost: {new Uri(hub.BaseUrl).Authority}\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n{chunk.Length:x}\r\n{chunk}\r\n0\r\n\r\n");
            Assert.Equal(413, chunked.Status);
        });
    }

    [Fact]
    public async Task Subscription_QUERY_without_a_body_reads_the_query_alone()
    {
        await SubscriptionHubs.OnEach(hubs.All, async hub =>
        {
            var topic = hub.NewTopic("bodiless");
            var request = new HttpRequestMessage(Query, hub.HubUrl + "?match=" + Uri.EscapeDataString(topic));
            using var response = await hub.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        });
    }

    [Fact]
    public async Task Subscription_the_direct_listener_serves_GET_and_hands_QUERY_to_Kestrel()
    {
        var hub = hubs.CompatibleDirect;
        var authority = new Uri(hub.BaseUrl).Authority;
        var get = await RawHttp.SendAsync(hub.BaseUrl, $"GET /.well-known/mercure?match=direct HTTP/1.1\r\nHost: {authority}\r\n\r\n");
        Assert.Equal(200, get.Status);
        Assert.True(get.ServedDirectly, get.Head);

        // Refusals on the direct path are its own too.
        var refused = await RawHttp.SendAsync(hub.BaseUrl, $"GET /.well-known/mercure?match_nope=x HTTP/1.1\r\nHost: {authority}\r\n\r\n");
        Assert.Equal(400, refused.Status);
        Assert.True(refused.ServedDirectly, refused.Head);

        var query = await RawHttp.SendAsync(hub.BaseUrl, $"QUERY /.well-known/mercure HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 12\r\n\r\nmatch=kestrl");
        Assert.Equal(200, query.Status);
        Assert.False(query.ServedDirectly, query.Head);
    }

    /// <summary>
    /// Kestrel refuses a request target with a byte outside ASCII (400, before any app code), and the direct path hands
    /// such a head to Kestrel: a query string reaches the hub as ASCII, its escapes decoded only by the hub.
    /// </summary>
    [Fact]
    public async Task Subscription_raw_bytes_outside_ASCII_in_the_target_never_reach_the_hub()
    {
        await SubscriptionHubs.OnEach(hubs.All, async hub =>
        {
            var latin1 = await RawHttp.SendAsync(hub.BaseUrl, SubscriptionRaw.Get(hub, "/.well-known/mercure?match=caf\u00e9"));
            Assert.Equal(400, latin1.Status);

            var utf8 = Encoding.Latin1.GetString(Encoding.UTF8.GetBytes("caf\u00e9"));
            var valid = await RawHttp.SendAsync(hub.BaseUrl, SubscriptionRaw.Get(hub, "/.well-known/mercure?match=" + utf8));
            Assert.Equal(400, valid.Status);
        });
    }

    /// <summary>A form body is bytes: UTF-8 as it is counts, a byte that is not UTF-8 is refused.</summary>
    [Fact]
    public async Task Subscription_QUERY_body_bytes_must_be_UTF_8()
    {
        await SubscriptionHubs.OnEach(hubs.All, async hub =>
        {
            var topic = hub.NewTopic("caf\u00e9");
            using (var raw = await SendRawQueryAsync(hub, string.Empty, Encoding.UTF8.GetBytes("match=" + topic), "application/x-www-form-urlencoded; charset=UTF-8"))
            {
                Assert.Equal(HttpStatusCode.OK, raw.StatusCode);
                await hub.WaitRegisteredAsync(topic);
                await using var reader = await SseReader.OpenAsync(raw);
                await hub.PublishAsync(topic, "utf-8");
                Assert.Equal("utf-8", (await reader.NextAsync())?.Data);
            }

            using var latin1 = await SendRawQueryAsync(hub, string.Empty, Encoding.Latin1.GetBytes("match=" + topic), "application/x-www-form-urlencoded");
            Assert.Equal(HttpStatusCode.BadRequest, latin1.StatusCode);
            Assert.Equal("match parameter is not valid UTF-8\n", await latin1.Content.ReadAsStringAsync());
        });
    }

    [Fact]
    public async Task Error_Responses_subscribe_authorization_failures_answer_RFC_6750_challenges()
    {
        var direct = await TestHub.StartAsync();
        await using var kestrel = await KestrelOnlyHub.StartAsync();
        await using (direct)
        {
            foreach (var (client, hubUrl) in new[] { (direct.Client, direct.HubUrl), (kestrel.Client, kestrel.HubUrl) })
            {
                var metadata = "resource_metadata=\"";

                using (var missing = await client.GetAsync(hubUrl + "?match=a", HttpCompletionOption.ResponseHeadersRead).WaitAsync(TimeSpan.FromSeconds(30)))
                {
                    Assert.Equal(HttpStatusCode.Unauthorized, missing.StatusCode);
                    var challenge = missing.Headers.WwwAuthenticate.ToString();
                    Assert.StartsWith("Bearer ", challenge, StringComparison.Ordinal);
                    Assert.Contains(metadata, challenge, StringComparison.Ordinal);
                    Assert.DoesNotContain("error=", challenge, StringComparison.Ordinal);
                }

                var bad = new HttpRequestMessage(HttpMethod.Get, hubUrl + "?match=a");
                bad.Headers.Authorization = new("Bearer", "not-a-token");
                using (var invalid = await client.SendAsync(bad, HttpCompletionOption.ResponseHeadersRead).WaitAsync(TimeSpan.FromSeconds(30)))
                {
                    Assert.Equal(HttpStatusCode.Unauthorized, invalid.StatusCode);
                    Assert.Contains("error=\"invalid_token\"", invalid.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
                }

                var basic = new HttpRequestMessage(HttpMethod.Get, hubUrl + "?match=a");
                basic.Headers.Authorization = new("Basic", "Zm9vOmJhcg==");
                using var malformed = await client.SendAsync(basic, HttpCompletionOption.ResponseHeadersRead).WaitAsync(TimeSpan.FromSeconds(30));
                Assert.Equal(HttpStatusCode.BadRequest, malformed.StatusCode);
                Assert.Contains("error=\"invalid_request\"", malformed.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
            }
        }
    }

    [Fact]
    public async Task Subscription_browsers_on_other_origins_may_send_QUERY_and_read_Mercure_Last_Event_ID()
    {
        const string origin = "https://app.example";
        await using var hub = await TestHub.StartAsync(new Dictionary<string, string?> { ["Herald:Anonymous"] = "true", ["Herald:CorsOrigins:0"] = origin });

        var preflight = new HttpRequestMessage(HttpMethod.Options, hub.HubUrl);
        preflight.Headers.Add("Origin", origin);
        preflight.Headers.Add("Access-Control-Request-Method", "QUERY");
        using (var answer = await hub.Client.SendAsync(preflight).WaitAsync(TimeSpan.FromSeconds(30)))
        {
            Assert.Equal(HttpStatusCode.NoContent, answer.StatusCode);
            Assert.Contains("QUERY", answer.Headers.GetValues("Access-Control-Allow-Methods").Single(), StringComparison.Ordinal);
        }

        var get = new HttpRequestMessage(HttpMethod.Get, hub.HubUrl + "?match=cors&last_event_id=earliest");
        get.Headers.Add("Origin", origin);
        using var stream = await hub.Client.SendAsync(get, HttpCompletionOption.ResponseHeadersRead).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal("earliest", stream.Headers.GetValues("Mercure-Last-Event-ID").Single());
        Assert.Contains("Mercure-Last-Event-ID", stream.Headers.GetValues("Access-Control-Expose-Headers").Single(), StringComparison.Ordinal);
    }

    private static Task<HttpResponseMessage> SendQueryAsync(SubscriptionHub hub, string query, KeyValuePair<string, string>[] body)
    {
        var request = new HttpRequestMessage(Query, hub.HubUrl + (query.Length == 0 ? string.Empty : "?" + query)) { Content = new FormUrlEncodedContent(body) };
        return hub.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).WaitAsync(TimeSpan.FromSeconds(30));
    }

    private static Task<HttpResponseMessage> SendRawQueryAsync(SubscriptionHub hub, string query, byte[] body, string contentType)
    {
        var content = new ByteArrayContent(body);
        content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        var request = new HttpRequestMessage(Query, hub.HubUrl + (query.Length == 0 ? string.Empty : "?" + query)) { Content = content };
        return hub.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).WaitAsync(TimeSpan.FromSeconds(30));
    }
}
