using System.Buffers;
using System.Text;
using System.Text.Json;
using Herald.Storage;

namespace Herald.Tests.Storage;

public sealed class TopicsJsonTests
{
    public static TheoryData<string[]> Topics =>
    [
        ["https://example.com/books/1"],
        ["https://example.com/books/1", "https://example.com/authors/{id}", "urn:x:y"],
        ["a \"quoted\" \\ topic"],
        ["<html> & 'single' + `tick`"],
        ["ünïcødé", "日本語 🎉"],
        ["tab\there", "line\nend", "nul\0", "del\u007f"],
        ["/path?query=1&x=2#frag"],
        [""],
        [" "],
    ];

    [Theory]
    [MemberData(nameof(Topics))]
    public void Write_gives_the_bytes_Serialize_gives_and_Parse_reads_them_back(string[] topics)
    {
        var buffer = new ArrayBufferWriter<byte>(16);
        using var writer = new Utf8JsonWriter(buffer);

        var written = Encoding.UTF8.GetString(TopicsJson.Write(topics, writer, buffer));

        Assert.Equal(TopicsJson.Serialize(topics, new ArrayBufferWriter<byte>(16)), written);
        Assert.Equal(topics, TopicsJson.Parse(written));
    }

    [Fact]
    public void Write_reuses_its_buffer_from_one_call_to_the_next()
    {
        var buffer = new ArrayBufferWriter<byte>(4);
        using var writer = new Utf8JsonWriter(buffer);

        TopicsJson.Write(["first, rather longer topic", "é"], writer, buffer);
        var second = Encoding.UTF8.GetString(TopicsJson.Write(["b"], writer, buffer));

        Assert.Equal("[\"b\"]", second);
    }

    [Fact]
    public void A_lone_surrogate_is_written_as_Serialize_writes_it()
    {
        var buffer = new ArrayBufferWriter<byte>(16);
        using var writer = new Utf8JsonWriter(buffer);
        string[] topics = ["ok", "lone \ud800"];

        string? serialized = null;
        Exception? refused = null;
        try
        {
            serialized = TopicsJson.Serialize(topics, new ArrayBufferWriter<byte>(16));
        }
        catch (ArgumentException e)
        {
            refused = e;
        }

        if (refused is null)
        {
            Assert.Equal(serialized, Encoding.UTF8.GetString(TopicsJson.Write(topics, writer, buffer)));
        }
        else
        {
            Assert.Throws<ArgumentException>(() => TopicsJson.Write(topics, writer, buffer));
        }

        Assert.Equal("[\"next\"]", Encoding.UTF8.GetString(TopicsJson.Write(["next"], writer, buffer)));
    }
}
