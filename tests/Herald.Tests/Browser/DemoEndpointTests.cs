using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Herald.Tests.Infrastructure;

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
        await using var hub = await TestHub.StartAsync();
        var pass = await JoinAsync(hub, "lobby", "ada");

        using var response = await PostMessageAsync(hub, room, new StringContent(json, System.Text.Encoding.UTF8, "application/json"), pass);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(reason, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(0, hub.Hub.Metrics.Published);
    }

    [Fact]
    public async Task A_message_longer_than_the_limit_is_refused_and_one_at_the_limit_is_published()
    {
        await using var hub = await TestHub.StartAsync();
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
        await using var hub = await TestHub.StartAsync();
        var pass = await JoinAsync(hub, "lobby", "ada");

        using var form = await PostMessageAsync(hub, "lobby", new FormUrlEncodedContent([new("nickname", "ada"), new("text", "hi")]), pass);

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, form.StatusCode);
    }

    [Fact]
    public async Task The_tokens_handed_to_pages_may_subscribe_to_their_topics_and_publish_nothing()
    {
        await using var hub = await TestHub.StartAsync(new Dictionary<string, string?> { ["Herald:Subscriptions"] = "true" });
        using var join = await hub.Client.PostAsJsonAsync("/demo/chat/lobby/join", new { nickname = "ada" });
        var room = await join.Content.ReadFromJsonAsync<JsonElement>();
        using var session = await hub.Client.PostAsync("/demo/session", null);
        var sessionToken = (await session.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("token").GetString()!;
        var roomToken = room.GetProperty("token").GetString()!;
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
        var other = new HttpRequestMessage(HttpMethod.Get, hub.BaseUrl + "/.well-known/mercure/subscriptions/" + Uri.EscapeDataString("https://herald.local/demo/chat/other"));
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
