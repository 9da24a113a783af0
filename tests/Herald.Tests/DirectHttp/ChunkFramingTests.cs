using System.Text;
using Herald.DirectHttp;

namespace Herald.Tests.DirectHttp;

/// <summary>The one writer of HTTP/1.1 chunk framing on the direct path: exact bytes, and nothing allocated.</summary>
public sealed class ChunkFramingTests
{
    [Theory]
    [InlineData(1, "1\r\n")]
    [InlineData(15, "f\r\n")]
    [InlineData(16, "10\r\n")]
    [InlineData(4095, "fff\r\n")]
    [InlineData(65536, "10000\r\n")]
    [InlineData(int.MaxValue, "7fffffff\r\n")]
    public void A_size_line_is_lowercase_hex_without_leading_zeros(int length, string expected)
    {
        var buffer = new byte[ChunkFraming.MaxOverhead];
        var written = ChunkFraming.WriteHeader(buffer, length);
        Assert.Equal(expected, Encoding.ASCII.GetString(buffer, 0, written));
        Assert.True(written + ChunkFraming.EndOfChunk.Length <= ChunkFraming.MaxOverhead);
    }

    [Fact]
    public void A_whole_chunk_is_size_line_data_and_CRLF()
    {
        var data = Encoding.ASCII.GetBytes("data: hello\n\n");
        var buffer = new byte[data.Length + ChunkFraming.MaxOverhead];
        var written = ChunkFraming.Write(buffer, data);
        Assert.Equal("d\r\ndata: hello\n\n\r\n", Encoding.ASCII.GetString(buffer, 0, written));
        Assert.Equal("0\r\n\r\n", Encoding.ASCII.GetString(ChunkFraming.LastChunk));
    }

    [Fact]
    public void Writing_a_chunk_allocates_nothing()
    {
        var data = new byte[1000];
        var buffer = new byte[data.Length + ChunkFraming.MaxOverhead];
        ChunkFraming.Write(buffer, data);
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            ChunkFraming.WriteHeader(buffer, i + 1);
            ChunkFraming.Write(buffer, data);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
