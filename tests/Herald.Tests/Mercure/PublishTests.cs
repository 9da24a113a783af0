using System.Net;
using System.Text;
using Herald.Security;
using Herald.Tests.Infrastructure;

namespace Herald.Tests.Mercure;

/// <summary>POST /.well-known/mercure: every validation rule and status code.</summary>
public sealed class PublishTests : IAsyncLifetime
{
    private TestHub _hub = null!;

    public async Task InitializeAsync() => _hub = await TestHub.StartAsync(new Dictionary<string, string?> { ["Herald:MaxPublishBytes"] = "65536" });

    public async Task DisposeAsync() => await _hub.DisposeAsync();

    private static List<KeyValuePair<string, string>> Form(params (string Key, string Value)[] fields)
        => fields.Select(f => new KeyValuePair<string, string>(f.Key, f.Value)).ToList();

    private async Task<(HttpStatusCode Status, string Body)> Post(List<KeyValuePair<string, string>> form, string? token = null)
    {
        using var response = await _hub.PostAsync(form, token).WaitAsync(TimeSpan.FromSeconds(30));
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_publish_answers_200_with_a_generated_urn_uuid_as_text()
    {
        using var response = await _hub.PostAsync(Form(("topic", "https://example.com/books/1"), ("data", "hello")));
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        Assert.Matches("^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", body);
    }

    [Fact]
    public async Task A_custom_id_is_honoured_and_returned()
    {
        var (status, body) = await Post(Form(("topic", "https://example.com/books/1"), ("data", "x"), ("id", "my-id-1")));

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("my-id-1", body);
    }

    [Theory]
    [InlineData("missing topic", "data=x", "missing topic")]
    [InlineData("empty topic", "topic=&data=x", "missing topic")]
    [InlineData("retry not digits", "topic=t&retry=10s", "retry")]
    [InlineData("negative retry", "topic=t&retry=-1", "retry")]
    [InlineData("retry too large", "topic=t&retry=1000000000000000", "retry")]
    [InlineData("LF in id", "topic=t&id=a%0Ab", "id")]
    [InlineData("CR in id", "topic=t&id=a%0Db", "id")]
    [InlineData("NUL in id", "topic=t&id=a%00b", "invalid characters")]
    [InlineData("id starting with #", "topic=t&id=%23frag", "id")]
    [InlineData("LF in type", "topic=t&type=a%0Ab", "type")]
    [InlineData("CR in type", "topic=t&type=a%0Db", "type")]
    public async Task Bad_input_is_answered_400_with_a_reason(string why, string body, string reasonContains)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, _hub.HubUrl)
        {
            Content = new StringContent(body, Encoding.UTF8, "application/x-www-form-urlencoded"),
        };
        request.Headers.Authorization = new("Bearer", TestHub.PublisherToken());

        using var response = await _hub.Client.SendAsync(request);
        var reason = await response.Content.ReadAsStringAsync();

        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{why}: got {(int)response.StatusCode} {reason}");
        Assert.Contains(reasonContains, reason, StringComparison.Ordinal);
        Assert.Single(reason.TrimEnd('\n').Split('\n'));
    }

    [Fact]
    public async Task No_token_is_401()
    {
        var request = new HttpRequestMessage(HttpMethod.Post, _hub.HubUrl) { Content = new FormUrlEncodedContent(Form(("topic", "t"))) };
        using var response = await _hub.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains("token", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_token_signed_with_another_key_is_401()
    {
        var (status, body) = await Post(Form(("topic", "t")), TokenIssuer.Create("another-key-0123456789-0123456789-012", ["*"], null, TimeSpan.FromHours(1)));

        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.StartsWith("invalid publisher token", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_alg_none_token_is_401()
    {
        static string B64(string s) => Convert.ToBase64String(Encoding.UTF8.GetBytes(s)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var token = B64("{\"alg\":\"none\",\"typ\":\"JWT\"}") + "." + B64("{\"mercure\":{\"publish\":[\"*\"]}}") + ".";

        var (status, _) = await Post(Form(("topic", "t")), token);

        Assert.Equal(HttpStatusCode.Unauthorized, status);
    }

    [Fact]
    public async Task An_expired_token_is_401()
    {
        var (status, body) = await Post(Form(("topic", "t")), TokenIssuer.Create(TestHub.Key, ["*"], null, TimeSpan.FromMinutes(-5)));

        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Contains("expired", body, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task A_malformed_token_is_401()
    {
        var (status, _) = await Post(Form(("topic", "t")), "not.a.jwt");

        Assert.Equal(HttpStatusCode.Unauthorized, status);
    }

    [Fact]
    public async Task Every_topic_must_match_the_publish_claim_else_403()
    {
        var token = TestHub.PublisherToken("https://example.com/books/{id}");

        var (ok, _) = await Post(Form(("topic", "https://example.com/books/1")), token);
        var (forbidden, reason) = await Post(Form(("topic", "https://example.com/books/1"), ("topic", "https://example.com/authors/1")), token);

        Assert.Equal(HttpStatusCode.OK, ok);
        Assert.Equal(HttpStatusCode.Forbidden, forbidden);
        Assert.Contains("https://example.com/authors/1", reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_token_without_publish_claim_is_403()
    {
        var (status, _) = await Post(Form(("topic", "t")), TestHub.SubscriberToken());

        Assert.Equal(HttpStatusCode.Forbidden, status);
    }

    [Fact]
    public async Task A_body_over_the_limit_is_413()
    {
        var (status, body) = await Post(Form(("topic", "t"), ("data", new string('x', 70_000))));

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, status);
        Assert.Contains("larger than", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_body_that_is_not_a_form_is_415()
    {
        var request = new HttpRequestMessage(HttpMethod.Post, _hub.HubUrl) { Content = new StringContent("{\"topic\":\"t\"}", Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new("Bearer", TestHub.PublisherToken());

        using var response = await _hub.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
    }

    private async Task<(HttpStatusCode Status, string Body, HttpResponseMessage Response)> PostRaw(HttpContent content)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, _hub.HubUrl) { Content = content };
        request.Headers.Authorization = new("Bearer", TestHub.PublisherToken());
        var response = await _hub.Client.SendAsync(request).WaitAsync(TimeSpan.FromSeconds(30));
        return (response.StatusCode, await response.Content.ReadAsStringAsync(), response);
    }

    [Fact]
    public async Task The_id_is_answered_with_a_Content_Length_not_chunked()
    {
        // Ids are printable ASCII (a non-ASCII one could not be echoed in a Last-Event-ID header): bytes = characters.
        using var response = await _hub.PostAsync(Form(("topic", "t"), ("data", "x"), ("id", "length-1")));
        var body = await response.Content.ReadAsByteArrayAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("length-1", Encoding.UTF8.GetString(body));
        Assert.Equal(body.Length, response.Content.Headers.ContentLength);
        Assert.NotEqual(true, response.Headers.TransferEncodingChunked);
        Assert.Equal("utf-8", response.Content.Headers.ContentType?.CharSet);
    }

    [Fact]
    public async Task Form_encoding_is_decoded_as_ASP_NET_Core_decodes_it()
    {
        await using var reader = await _hub.SubscribeAsync("topic=" + Uri.EscapeDataString("t é"), TestHub.SubscriberToken());
        await TestHub.Eventually(() => _hub.Hub.SubscriberCount == 1, "subscriber");

        // + is a space, escapes that are not UTF-8 stay as they are, keys are case-insensitive, repeated data joins.
        var (status, _, response) = await PostRaw(new StringContent(
            "TOPIC=t+%C3%A9&data=a+b%20c%2B%zz%C3%A9%C3&Data=&data=%E2%82%AC&type=%65vt&id=x%2Fy",
            Encoding.UTF8,
            "application/x-www-form-urlencoded"));
        response.Dispose();

        Assert.Equal(HttpStatusCode.OK, status);
        var received = await reader.NextAsync();
        Assert.Equal("a b c+%zzé%C3,€", received?.Data);
        Assert.Equal("evt", received?.EventType);
        Assert.Equal("x/y", received?.EventId);
    }

    [Fact]
    public async Task Multipart_other_charsets_and_chunked_bodies_are_still_read()
    {
        using var multipart = new MultipartFormDataContent { { new StringContent("t"), "topic" }, { new StringContent("multi"), "id" } };
        var latin1 = new StringContent("topic=t&id=latin", Encoding.Latin1, "application/x-www-form-urlencoded");
        var chunked = new StreamContent(new MemoryStream("topic=t&id=chunked"u8.ToArray()));
        chunked.Headers.ContentType = new("application/x-www-form-urlencoded");

        var answers = new List<(HttpStatusCode, string)>();
        foreach (var content in new HttpContent[] { multipart, latin1, chunked })
        {
            var (status, body, response) = await PostRaw(content);
            response.Dispose();
            answers.Add((status, body));
        }

        Assert.Equal([(HttpStatusCode.OK, "multi"), (HttpStatusCode.OK, "latin"), (HttpStatusCode.OK, "chunked")], answers);
    }

    [Fact]
    public async Task Too_many_fields_is_413_with_the_form_limit()
    {
        var body = "topic=t" + string.Concat(Enumerable.Range(0, 1024).Select(i => $"&f{i}=1"));

        var (status, reason, response) = await PostRaw(new StringContent(body, Encoding.UTF8, "application/x-www-form-urlencoded"));
        response.Dispose();

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, status);
        Assert.Equal("publish form too large: Form value count limit 1024 exceeded\n", reason);
    }

    [Fact]
    public async Task A_refused_publish_loses_nothing_already_accepted()
    {
        await using var reader = await _hub.SubscribeAsync("topic=t", TestHub.SubscriberToken());
        await TestHub.Eventually(() => _hub.Hub.SubscriberCount == 1, "subscriber");

        await Post(Form(("topic", "t"), ("data", "first")));
        var (bad, _) = await Post(Form(("topic", "t"), ("retry", "x")));
        await Post(Form(("topic", "t"), ("data", "second")));

        Assert.Equal(HttpStatusCode.BadRequest, bad);
        Assert.Equal("first", (await reader.NextAsync())?.Data);
        Assert.Equal("second", (await reader.NextAsync())?.Data);
    }
}
