using System.Net.ServerSentEvents;
using System.Text;
using Herald.Sse;

namespace Herald.Tests.Sse;

public sealed class SseFrameTests
{
    private static List<SseItem<string>> Parse(params byte[][] frames)
    {
        var bytes = frames.SelectMany(f => f).ToArray();
        return SseParser.Create(new MemoryStream(bytes)).Enumerate().ToList();
    }

    [Theory]
    [InlineData("one line")]
    [InlineData("a\nb\nc")]
    [InlineData("a\rb\rc")]
    [InlineData("a\r\nb\r\nc")]
    [InlineData("mixed\r\nline\nends\rhere")]
    [InlineData("trailing newline\n")]
    [InlineData("\nleading newline")]
    [InlineData("")]
    [InlineData(" leading space")]
    [InlineData("data: looks like a field")]
    [InlineData("multi-byte: héllo wörld — ✓ 日本語 🎉")]
    public void Data_round_trips_through_the_runtime_parser(string data)
    {
        var events = Parse(SseFrame.Encode(data, "update", "id-1", TimeSpan.FromSeconds(3)));

        var item = Assert.Single(events);
        var expected = data.Replace("\r\n", "\n", StringComparison.Ordinal).Replace('\r', '\n');
        Assert.Equal(expected, item.Data);
        Assert.Equal("update", item.EventType);
        Assert.Equal("id-1", item.EventId);
        Assert.Equal(TimeSpan.FromSeconds(3), item.ReconnectionInterval);
    }

    public static TheoryData<string?, string?, string?, int?> EncodeCases => new()
    {
        { null, null, null, null },
        { "", null, null, null },
        { "one line", "update", "id-1", 3000 },
        { "a\nb\rc\r\nd\n\r\n", "t", "i", 0 },
        { "\r\n", null, "", null },
        { "multi-byte: héllo — ✓ 日本語 🎉", "typé", "ïd", 2_147_483_647 },
        { "lone \ud800 surrogate \udc00", null, null, null },
        { "ends in CR\r", null, null, -5 },
    };

    [Theory]
    [MemberData(nameof(EncodeCases))]
    public void Encode_gives_exactly_the_bytes_Write_gives(string? data, string? eventType, string? id, int? retryMs)
    {
        TimeSpan? retry = retryMs is { } ms ? TimeSpan.FromMilliseconds(ms) : null;
        var written = new System.Buffers.ArrayBufferWriter<byte>();
        SseFrame.Write(written, data, eventType, id, retry);

        Assert.Equal(written.WrittenSpan.ToArray(), SseFrame.Encode(data, eventType, id, retry));
    }

    [Fact]
    public void A_one_megabyte_payload_round_trips()
    {
        var data = string.Create(1024 * 1024, 0, (span, _) =>
        {
            for (var i = 0; i < span.Length; i++)
            {
                span[i] = i % 1000 == 999 ? '\n' : (char)('a' + (i % 26));
            }
        });

        var item = Assert.Single(Parse(SseFrame.Encode(data, null, "big", null)));

        Assert.Equal(data, item.Data);
        Assert.Equal("message", item.EventType);
    }

    [Fact]
    public void Several_frames_and_comments_parse_as_separate_events()
    {
        var events = Parse(SseFrame.Opening, SseFrame.Encode("1", null, "a", null), SseFrame.Heartbeat, SseFrame.Comment("hi"), SseFrame.Encode("2", null, "b", null));

        Assert.Equal(["1", "2"], events.Select(e => e.Data));
        Assert.Equal(["a", "b"], events.Select(e => e.EventId));
    }

    [Fact]
    public void Frames_are_exact_bytes_of_the_wire_format()
    {
        var frame = Encoding.UTF8.GetString(SseFrame.Encode("x\r\ny", "t", "1", TimeSpan.FromMilliseconds(1500)));

        Assert.Equal("event: t\nid: 1\nretry: 1500\ndata: x\ndata: y\n\n", frame);
    }

    [Theory]
    [InlineData("bad\nid", null)]
    [InlineData("bad\rid", null)]
    [InlineData("bad\0id", null)]
    [InlineData(null, "bad\ntype")]
    [InlineData(null, "bad\rtype")]
    public void Breaking_ids_and_types_are_refused_never_written(string? id, string? type)
    {
        var error = Assert.Throws<ArgumentException>(() => SseFrame.Encode("data", type, id, null));
        Assert.Contains(id is not null ? "id" : "type", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Comments_with_line_breaks_are_refused()
        => Assert.Throws<ArgumentException>(() => SseFrame.Comment("a\nb"));
}
