using System.Net;
using System.Text;
using Herald.Mercure;
using Herald.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Herald.Tests.Hardening;

/// <summary>
/// What an update's id, type and topics may hold. An id goes into the <c>Last-Event-ID</c> response header, so it is
/// printable ASCII: before, publishing <c>id=%C3%BC-1</c> made every resume with an unknown id answer 500 while it
/// was the newest update, and every resume naming it 500 for good. Types and topics are UTF-8 text without control
/// or format characters.
/// </summary>
public sealed class UpdateValidationTests
{
    private static Update With(string? id = null, string? type = null, string topic = "https://example.com/t")
        => new() { Topics = [topic], Data = "x", EventId = id, EventType = type };

    [Theory]
    [InlineData("\u00fc-1")]
    [InlineData("caf\u00e9")]
    [InlineData("a\u0001b")]
    [InlineData("a\tb")]
    [InlineData("a\u007fb")]
    [InlineData("a\u0085b")]
    [InlineData("a\u200bb")]
    [InlineData("a\u202eb")]
    [InlineData(" leading")]
    [InlineData("trailing ")]
    [InlineData("earliest")]
    [InlineData("")]
    [InlineData("#fragment")]
    public void An_id_a_response_header_cannot_carry_is_refused(string id)
    {
        var refused = Assert.Throws<HeraldUpdateException>(() => MercureHub.Prepare(With(id: id)));
        Assert.DoesNotContain('\n', refused.Message);
    }

    [Theory]
    [InlineData("a\u0000b")]
    [InlineData("a\u0001b")]
    [InlineData("a\u007fb")]
    [InlineData("a\u0085b")]
    [InlineData("a\u200bb")]
    [InlineData("a\u202eb")]
    [InlineData("a\ufeffb")]
    [InlineData("a\U000e0041b")]
    public void A_type_or_topic_with_control_or_format_characters_is_refused(string text)
    {
        Assert.Throws<HeraldUpdateException>(() => MercureHub.Prepare(With(type: text)));
        Assert.Throws<HeraldUpdateException>(() => MercureHub.Prepare(With(topic: "https://example.com/" + text)));
    }

    [Fact]
    public void A_lone_surrogate_is_refused_in_ids_types_and_topics()
    {
        // Built here: xunit would turn a lone surrogate in InlineData into U+FFFD.
        foreach (var text in new[] { "a" + '\ud800', "a" + '\udc00' + "b", "" + '\udfff' + '\ud800' })
        {
            Assert.Throws<HeraldUpdateException>(() => MercureHub.Prepare(With(id: text)));
            Assert.Throws<HeraldUpdateException>(() => MercureHub.Prepare(With(type: text)));
            Assert.Throws<HeraldUpdateException>(() => MercureHub.Prepare(With(topic: "https://example.com/" + text)));
        }
    }

    [Fact]
    public void Printable_ASCII_ids_and_text_in_any_script_pass()
    {
        var prepared = MercureHub.Prepare(With(id: "urn:uuid:0190-a b/c?d=e#", type: "\u00e9v\u00e9nement", topic: "https://example.com/caf\u00e9/\U0001f389"));
        Assert.Equal("urn:uuid:0190-a b/c?d=e#", prepared.EventId);
        Assert.StartsWith("urn:uuid:", MercureHub.Prepare(With()).EventId, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_application_publisher_refuses_a_non_ASCII_id_with_a_public_exception()
    {
        await using var hub = await TestHub.StartAsync();
        var publisher = hub.App.Services.GetRequiredService<IHeraldPublisher>();
        var before = hub.Hub.Store.LastSequence;

        await Assert.ThrowsAsync<HeraldUpdateException>(async () => await publisher.PublishAsync(With(id: "\u00fc-1")).AsTask().WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(before, hub.Hub.Store.LastSequence);
    }

    [Theory]
    [InlineData("id=%C3%BC-1", "id")]
    [InlineData("id=a%01b", "id")]
    [InlineData("type=a%E2%80%AEb", "type")]
    [InlineData("type=a%C2%85b", "type")]
    [InlineData("topic=https%3A%2F%2Fexample.com%2F%E2%80%8Bt", "topic")]
    public async Task An_HTTP_publish_with_such_a_field_is_refused_with_400_and_one_line(string field, string named)
    {
        await using var hub = await TestHub.StartAsync();
        var body = "data=x&" + field + (field.StartsWith("topic=", StringComparison.Ordinal) ? string.Empty : "&topic=https%3A%2F%2Fexample.com%2Ft");
        var (status, reason) = await PostRaw(hub, Encoding.ASCII.GetBytes(body));

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.StartsWith(named, reason, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', reason.TrimEnd('\n'));
        Assert.Equal(0, hub.Hub.Store.LastSequence);
    }

    [Theory]
    [InlineData("topic")]
    [InlineData("id")]
    [InlineData("type")]
    public async Task A_field_whose_bytes_are_not_UTF8_is_refused(string field)
    {
        await using var hub = await TestHub.StartAsync();
        var body = new List<byte>(Encoding.ASCII.GetBytes("data=x&" + field + "=a"));
        body.AddRange([0xFF, 0xC3, 0x28]);
        if (field != "topic")
        {
            body.AddRange("&topic=t"u8.ToArray());
        }

        var (status, reason) = await PostRaw(hub, body.ToArray());

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.StartsWith(field + " must be valid UTF-8", reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task After_a_refused_non_ASCII_id_resuming_with_an_unknown_id_still_works_on_both_paths()
    {
        await using var hub = await TestHub.StartAsync(new Dictionary<string, string?> { ["Herald:Anonymous"] = "true" });
        var (status, _) = await PostRaw(hub, "topic=t&data=x&id=%C3%BC-1"u8.ToArray());
        Assert.Equal(HttpStatusCode.BadRequest, status);

        // The direct path (herald serve's) and, for the same request, Kestrel's.
        Assert.Equal(200, await HardeningHubs.StatusOfRawRequestAsync(hub.BaseUrl, HardeningHubs.SubscribeHead(hub.BaseUrl, "Last-Event-ID: unknown"u8.ToArray())));
        var (app, baseUrl) = await HardeningHubs.StartKestrelOnlyAsync();
        await using (app)
        {
            using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
            var form = new FormUrlEncodedContent([new("topic", "t"), new("data", "x"), new("id", "\u00fc-1")]);
            var request = new HttpRequestMessage(HttpMethod.Post, baseUrl + "/.well-known/mercure") { Content = form };
            request.Headers.Authorization = new("Bearer", TestHub.PublisherToken());
            using var refused = await client.SendAsync(request);
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            Assert.Equal(200, await HardeningHubs.StatusOfRawRequestAsync(baseUrl, HardeningHubs.SubscribeHead(baseUrl, "Last-Event-ID: unknown"u8.ToArray())));
        }
    }

    private static async Task<(HttpStatusCode Status, string Reason)> PostRaw(TestHub hub, byte[] body)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new("application/x-www-form-urlencoded");
        var request = new HttpRequestMessage(HttpMethod.Post, hub.HubUrl) { Content = content };
        request.Headers.Authorization = new("Bearer", TestHub.PublisherToken());
        using var response = await hub.Client.SendAsync(request).WaitAsync(TimeSpan.FromSeconds(30));
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }
}
