using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Herald.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Herald.Tests.Browser;

/// <summary>The demo endpoints behind the pages: what they refuse, and that no token they hand out can publish.</summary>
public sealed class DemoEndpointTests
{
    [Theory]
    [InlineData("lobby", "{\"nickname\":\"ada\",\"text\":\"   \"}", "the message is empty")]
    [InlineData("lobby", "{\"nickname\":\"\",\"text\":\"hi\"}", "pick a nickname")]
    [InlineData("lobby", "{\"nickname\":\"<ada>\",\"text\":\"hi\"}", "a nickname may use")]
    [InlineData("lobby", "{\"nickname\":\"a-nickname-far-too-long-for-us\",\"text\":\"hi\"}", "at most 24 characters")]
    [InlineData("Lobby", "{\"nickname\":\"ada\",\"text\":\"hi\"}", "a room name has")]
    [InlineData("lobby", "{\"nickname\":\"ada\",\"text\":\"bell\\u0007\"}", "control character")]
    [InlineData("lobby", "[1,2]", "not valid JSON")]
    public async Task A_chat_message_the_rules_refuse_gets_a_400_with_the_reason(string room, string json, string reason)
    {
        await using var hub = await TestHub.StartAsync(DemoSettings.Serve());
        var pass = await JoinAsync(hub, "lobby", "ada");

        using var response = await PostMessageAsync(hub, room, new StringContent(json, System.Text.Encoding.UTF8, "application/json"), pass);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(reason, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(0, hub.Hub.Metrics.Published);
    }

    [Fact]
    public async Task A_message_longer_than_the_limit_is_refused_and_one_at_the_limit_is_published()
    {
        await using var hub = await TestHub.StartAsync(DemoSettings.Serve());
        var pass = await JoinAsync(hub, "lobby", "ada");

        using var tooLong = await PostMessageAsync(hub, "lobby", JsonContent.Create(new { nickname = "ada", text = new string('x', 501) }), pass);
        using var atLimit = await PostMessageAsync(hub, "lobby", JsonContent.Create(new { nickname = "ada", text = new string('x', 500) }), pass);

        Assert.Equal(HttpStatusCode.BadRequest, tooLong.StatusCode);
        Assert.Equal(HttpStatusCode.OK, atLimit.StatusCode);
        Assert.StartsWith("urn:uuid:", (await atLimit.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Only_JSON_is_accepted_so_a_cross_site_form_cannot_post_for_a_visitor()
    {
        await using var hub = await TestHub.StartAsync(DemoSettings.Serve());
        var pass = await JoinAsync(hub, "lobby", "ada");

        using var form = await PostMessageAsync(hub, "lobby", new FormUrlEncodedContent([new("nickname", "ada"), new("text", "hi")]), pass);

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, form.StatusCode);
    }

    [Fact]
    public async Task The_tokens_handed_to_pages_may_subscribe_to_their_topics_and_publish_nothing()
    {
        await using var hub = await TestHub.StartAsync(DemoSettings.Serve());
        using var join = await hub.Client.PostAsJsonAsync("/demo/chat/lobby/join", new { nickname = "ada" });
        var room = await join.Content.ReadFromJsonAsync<JsonElement>();
        using var session = await hub.Client.PostAsync("/demo/session", null);
        var cookieName = hub.App.Services.GetRequiredService<IOptions<HeraldOptions>>().Value.CookieName;
        var sessionToken = CookieToken(session, cookieName);
        var roomToken = CookieToken(join, cookieName);
        var sendToken = room.GetProperty("sendToken").GetString()!;

        // Valid tokens without a publish claim: forbidden. The chat's pass is no token at all to the hub.
        foreach (var (token, refusal) in new[] { (roomToken, HttpStatusCode.Forbidden), (sessionToken, HttpStatusCode.Forbidden), (sendToken, HttpStatusCode.Unauthorized) })
        {
            foreach (var topic in new[] { "https://herald.local/demo/chat/lobby", "https://example.com/anything" })
            {
                using var publish = await hub.PostAsync([new("topic", topic), new("data", "forged")], token);
                Assert.Equal(refusal, publish.StatusCode);
            }
        }

        // The room token reads its room's presence and nothing else's.
        var request = new HttpRequestMessage(HttpMethod.Get, hub.BaseUrl + room.GetProperty("subscriptions").GetString());
        request.Headers.Authorization = new("Bearer", roomToken);
        using var own = await hub.Client.SendAsync(request);
        var other = new HttpRequestMessage(HttpMethod.Get, hub.BaseUrl + room.GetProperty("subscriptions").GetString()!.Replace("lobby", "other", StringComparison.Ordinal));
        other.Headers.Authorization = new("Bearer", roomToken);
        using var foreign = await hub.Client.SendAsync(other);

        Assert.Equal(HttpStatusCode.OK, own.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, foreign.StatusCode);
        Assert.Equal("ada", room.GetProperty("nickname").GetString());
        Assert.Equal(0, hub.Hub.Metrics.Published);
    }

    [Fact]
    public async Task A_subscriber_of_the_figures_topic_gets_the_hubs_figures()
    {
        await using var hub = await TestHub.StartAsync(new Dictionary<string, string?> { ["Herald:Anonymous"] = "true" });
        await using var dashboard = await hub.SubscribeAsync("topic=" + Uri.EscapeDataString("https://herald.local/demo/metrics"));

        var figures = await dashboard.NextAsync();

        Assert.Equal("figures", figures?.EventType);
        var data = JsonDocument.Parse(figures!.Value.Data).RootElement;
        Assert.Equal(1, data.GetProperty("subscribers").GetInt32());
        foreach (var name in new[] { "updatesIn", "updatesOut", "deliveries", "p50Micros", "p99Micros", "heapBytes", "workingSetBytes", "cpuPercent" })
        {
            Assert.True(data.TryGetProperty(name, out _), name);
        }
    }

    /// <remarks>
    /// Either generation: Mercure 1.0 pages (the default) get a 1.0 token in the cookie <c>Herald:CookieName</c> names
    /// (<c>mercure_access_token</c> with --demo), 0.x pages (<c>Demos:Protocol=0</c>) a 0.x token in <c>mercureAuthorization</c>.
    /// </remarks>
    [Theory]
    [InlineData("1", "mercure_access_token", "exact", "last_event_id")]
    [InlineData("0", "mercureAuthorization", "topic", "lastEventID")]
    public async Task Presenting_the_Access_Token_pages_get_their_token_in_an_HttpOnly_SameSite_cookie_for_the_hub_path_never_in_a_body(
        string protocol, string cookieName, string matcherType, string lastEventIdParameter)
    {
        await using var hub = await TestHub.StartAsync(DemoSettings.Serve(new Dictionary<string, string?> { ["Demos:Protocol"] = protocol }));

        using var session = await hub.Client.PostAsync("/demo/session", null);
        using var join = await hub.Client.PostAsJsonAsync("/demo/chat/lobby/join", new { nickname = "ada" });

        foreach (var response in new[] { session, join })
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var cookie = Assert.Single(response.Headers.GetValues("Set-Cookie"));
            Assert.StartsWith(cookieName + "=ey", cookie, StringComparison.Ordinal);
            foreach (var attribute in new[] { "path=/.well-known/mercure", "samesite=strict", "httponly", "max-age=3600" })
            {
                Assert.Contains(attribute, cookie, StringComparison.OrdinalIgnoreCase);
            }

            // Over plain HTTP with a prefix-less name: no Secure, or the browser would drop it.
            Assert.DoesNotContain("secure", cookie.Replace("__Secure-", "", StringComparison.Ordinal), StringComparison.OrdinalIgnoreCase);
            var body = await response.Content.ReadAsStringAsync();
            Assert.DoesNotContain("\"token\"", body, StringComparison.Ordinal);
            Assert.DoesNotContain(cookie.Split(';')[0].Split('=', 2)[1], body, StringComparison.Ordinal);
            Assert.Equal("no-store", response.Headers.CacheControl?.ToString());
        }

        var room = await join.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(matcherType, room.GetProperty("messages")[0].GetProperty("type").GetString());
        Assert.Equal(lastEventIdParameter, room.GetProperty("lastEventIdParameter").GetString());
    }

    [Fact]
    public async Task Authorization_with_the_demos_on_Mercure_1_0_pages_get_match_matchers_and_a_1_0_access_token_in_the_configured_cookie()
    {
        await using var hub = await TestHub.StartAsync(new Dictionary<string, string?>
        {
            ["Herald:Subscriptions"] = "true",
            ["Demos:Protocol"] = "1",
            ["Herald:CookieName"] = "mercure_access_token",
            ["Herald:Issuer"] = "https://issuer.example",
        });

        using var join = await hub.Client.PostAsJsonAsync("/demo/chat/lobby/join", new { nickname = "ada" });
        var room = await join.Content.ReadFromJsonAsync<JsonElement>();
        var token = CookieToken(join, "mercure_access_token");

        Assert.Equal("exact", room.GetProperty("messages")[0].GetProperty("type").GetString());
        Assert.Equal("https://herald.local/demo/chat/lobby", room.GetProperty("messages")[0].GetProperty("value").GetString());
        var events = room.GetProperty("subscriptionEvents")[0];
        Assert.Equal("urlpattern", events.GetProperty("type").GetString());
        Assert.Equal("/.well-known/mercure/subscriptions/exact/https%3A%2F%2Fherald.local%2Fdemo%2Fchat%2Flobby/:subscriber", events.GetProperty("value").GetString());
        Assert.Equal("/.well-known/mercure/subscriptions/exact/https%3A%2F%2Fherald.local%2Fdemo%2Fchat%2Flobby", room.GetProperty("subscriptions").GetString());
        Assert.Equal("last_event_id", room.GetProperty("lastEventIdParameter").GetString());

        var jwt = new Microsoft.IdentityModel.JsonWebTokens.JsonWebToken(token);
        Assert.Equal("at+jwt", jwt.Typ);
        Assert.Equal("HS256", jwt.Alg);
        Assert.Equal("https://issuer.example", jwt.Issuer);
        Assert.Equal(hub.HubUrl, Assert.Single(jwt.Audiences));
        Assert.True(jwt.ValidTo > DateTime.UtcNow);
        foreach (var claim in new[] { "sub", "client_id", "iat", "jti" })
        {
            Assert.True(jwt.TryGetPayloadValue<object>(claim, out _), claim);
        }

        using var payload = JsonDocument.Parse(Microsoft.IdentityModel.Tokens.Base64UrlEncoder.Decode(jwt.EncodedPayload));
        var detail = Assert.Single(payload.RootElement.GetProperty("authorization_details").EnumerateArray());
        Assert.Equal("https://mercure.rocks/authorization-detail", detail.GetProperty("type").GetString());
        Assert.Equal(new string?[] { "subscribe" }, detail.GetProperty("actions").EnumerateArray().Select(a => a.GetString()));
        Assert.Equal(
            new (string?, string?)[]
            {
                ("https://herald.local/demo/chat/lobby", "exact"),
                ("/.well-known/mercure/subscriptions/exact/https%3A%2F%2Fherald.local%2Fdemo%2Fchat%2Flobby", "exact"),
                ("/.well-known/mercure/subscriptions/exact/https%3A%2F%2Fherald.local%2Fdemo%2Fchat%2Flobby/:subscriber", "urlpattern"),
            },
            // match_type defaults to exact when left out (Mercure 1.0, "Topic Matcher List").
            detail.GetProperty("topics").EnumerateArray().Select(t => (t.GetProperty("match").GetString(), t.TryGetProperty("match_type", out var type) ? type.GetString() : "exact")));
        Assert.Equal("ada", detail.GetProperty("payload").GetProperty("nickname").GetString());
        Assert.False(payload.RootElement.TryGetProperty("mercure", out _));
    }

    [Fact]
    public async Task Authorization_1_0_demos_without_a_trusted_issuer_answer_503_rather_than_hand_out_tokens_the_hub_refuses()
    {
        // Demos on, but not as --demo runs them: no Herald:Issuer, so the hub verifies no 1.0 token its key signs.
        await using var hub = await TestHub.StartAsync();

        using var session = await hub.Client.PostAsync("/demo/session", null);
        using var join = await hub.Client.PostAsJsonAsync("/demo/chat/lobby/join", new { nickname = "ada" });

        foreach (var response in new[] { session, join })
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.Contains("--issuer", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            Assert.False(response.Headers.Contains("Set-Cookie"));
        }
    }

    /// <summary>The token a demo endpoint set in the cookie <paramref name="name"/>.</summary>
    internal static string CookieToken(HttpResponseMessage response, string name)
    {
        var cookie = Assert.Single(response.Headers.GetValues("Set-Cookie"), c => c.StartsWith(name + "=", StringComparison.Ordinal));
        return cookie.Split(';')[0][(name.Length + 1)..];
    }

    /// <summary>Joins a room as a page does; returns the pass its messages must carry.</summary>
    internal static async Task<string> JoinAsync(TestHub hub, string room, string nickname)
    {
        using var join = await hub.Client.PostAsJsonAsync($"/demo/chat/{room}/join", new { nickname });
        Assert.Equal(HttpStatusCode.OK, join.StatusCode);
        return (await join.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("sendToken").GetString()!;
    }

    /// <summary>Posts a chat message as a page does, with the pass of its join (if any).</summary>
    internal static Task<HttpResponseMessage> PostMessageAsync(TestHub hub, string room, HttpContent content, string? pass)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, $"/demo/chat/{room}/messages") { Content = content };
        if (pass is not null)
        {
            request.Headers.Authorization = new("Bearer", pass);
        }

        return hub.Client.SendAsync(request);
    }
}
