using Herald.Redis;

namespace Herald.Tests.Redis;

/// <summary>Reading <c>redis://</c> transport URLs (no Redis needed).</summary>
public sealed class RedisTransportTests
{
    public static TheoryData<string, string, string, int, TimeSpan> Urls => new()
    {
        { "redis://127.0.0.1:6400", "redis://127.0.0.1:6400", "herald", -1, TimeSpan.FromSeconds(2) },
        { "redis://cache.internal", "redis://cache.internal:6379", "herald", -1, TimeSpan.FromSeconds(2) },
        { "redis://:s3cret@cache:7000/3?prefix=shop&timeout=500ms", "redis://cache:7000/3", "shop", 3, TimeSpan.FromMilliseconds(500) },
        { "rediss://user:pw@cache:6380?timeout=3s", "rediss://cache:6380", "herald", -1, TimeSpan.FromSeconds(3) },
    };

    [Theory]
    [MemberData(nameof(Urls))]
    public void Transport_urls_are_read(string url, string display, string prefix, int database, TimeSpan timeout)
    {
        var transport = RedisTransport.Parse(url);

        Assert.Equal(display, transport.Display);
        Assert.Equal(prefix, transport.Prefix);
        Assert.Equal(timeout, transport.Timeout);
        Assert.Equal(database < 0 ? null : database, transport.Configuration.DefaultDatabase);
        Assert.Equal(url.StartsWith("rediss:", StringComparison.Ordinal), transport.Configuration.Ssl);
        Assert.Equal(url.Contains("pw@", StringComparison.Ordinal) ? "pw" : url.Contains("s3cret", StringComparison.Ordinal) ? "s3cret" : null, transport.Configuration.Password);
    }

    [Theory]
    [InlineData("nats://host:4222")]
    [InlineData("redis://")]
    [InlineData("redis://host/db0")]
    [InlineData("redis://host?prefix={x}")]
    [InlineData("redis://host?timeout=soon")]
    [InlineData("redis://:s3cret@host?colour=blue")]
    public void Bad_transport_urls_are_refused_in_one_line_without_the_password(string url)
    {
        var error = Assert.Throws<FormatException>(() => RedisTransport.Parse(url));

        Assert.DoesNotContain("s3cret", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
    }
}
