using System.Text;
using Herald.Tests.Infrastructure;

namespace Herald.Tests.Hardening;

/// <summary>
/// A publish body sent chunked (no Content-Length, so the size is not known up front) is held to
/// <c>Herald:MaxPublishBytes</c> as it arrives: 413 with a reason, and nothing stored.
/// </summary>
public sealed class ChunkedPublishLimitTests
{
    private const string Topic = "https://example.com/chunked";
    private const int Limit = 64 * 1024;

    [Fact]
    public async Task A_chunked_publish_body_over_the_limit_is_refused_413_with_a_reason_and_nothing_is_stored()
    {
        await using var hub = await TestHub.StartAsync(new Dictionary<string, string?>
        {
            ["Herald:Anonymous"] = "true",
            ["Herald:MaxPublishBytes"] = Limit.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });

        var small = await RawExchange.ExchangeAsync(new Uri(hub.BaseUrl), ChunkedPublish(hub, "fits", Limit / 2));
        var large = await RawExchange.ExchangeAsync(new Uri(hub.BaseUrl), ChunkedPublish(hub, "too large", Limit * 2));
        var marker = await hub.PublishAsync(Topic, "marker");

        Assert.Equal(200, small.Status);
        Assert.Equal(413, large.Status);
        Assert.Equal($"publish body larger than {Limit} bytes", large.Body.Trim());
        await using var history = await hub.SubscribeAsync("topic=" + Uri.EscapeDataString(Topic) + "&lastEventID=earliest");
        Assert.Equal(small.Body.Trim(), (await history.NextAsync(30_000))?.EventId);
        Assert.Equal(marker, (await history.NextAsync(30_000))?.EventId);
    }

    /// <summary>A urlencoded publish of about <paramref name="bodyBytes"/> bytes, in 4 KB chunks, with no Content-Length.</summary>
    private static byte[] ChunkedPublish(TestHub hub, string label, int bodyBytes)
    {
        var prefix = "topic=" + Uri.EscapeDataString(Topic) + "&data=" + Uri.EscapeDataString(label) + "+";
        var body = Encoding.ASCII.GetBytes(prefix + new string('d', bodyBytes - prefix.Length));
        var request = new MemoryStream();
        var head = $"POST /.well-known/mercure HTTP/1.1\r\nHost: {new Uri(hub.BaseUrl).Authority}\r\n"
            + $"Authorization: Bearer {TestHub.PublisherToken()}\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            + "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
        request.Write(Encoding.ASCII.GetBytes(head));
        for (var offset = 0; offset < body.Length; offset += 4096)
        {
            var size = Math.Min(4096, body.Length - offset);
            request.Write(Encoding.ASCII.GetBytes(size.ToString("x", System.Globalization.CultureInfo.InvariantCulture) + "\r\n"));
            request.Write(body, offset, size);
            request.Write("\r\n"u8);
        }

        request.Write("0\r\n\r\n"u8);
        return request.ToArray();
    }
}
