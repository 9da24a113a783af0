using System.Numerics;

namespace Herald.DirectHttp;

/// <summary>
/// HTTP/1.1 chunked transfer coding (RFC 9112 §7.1) for the direct path: the one place a chunk's size line, its
/// closing CRLF and the last chunk are written. Spans only, so the writer loop's hot path allocates nothing.
/// </summary>
internal static class ChunkFraming
{
    /// <summary>The most a chunk adds around its data: up to 8 hex digits and CRLF before, CRLF after.</summary>
    public const int MaxOverhead = 12;

    /// <summary>The last chunk and the empty trailer section: the end of a chunked body.</summary>
    public static ReadOnlySpan<byte> LastChunk => "0\r\n\r\n"u8;

    /// <summary>The CRLF that closes a chunk's data.</summary>
    public static ReadOnlySpan<byte> EndOfChunk => "\r\n"u8;

    private static ReadOnlySpan<byte> HexDigits => "0123456789abcdef"u8;

    /// <summary>Writes the size line of a chunk of <paramref name="length"/> (&gt; 0) bytes: lowercase hex, CRLF. Returns its length.</summary>
    public static int WriteHeader(Span<byte> destination, int length)
    {
        var digits = (BitOperations.Log2((uint)length) >> 2) + 1;
        var position = 0;
        for (var d = digits - 1; d >= 0; d--)
        {
            destination[position++] = HexDigits[(length >> (4 * d)) & 0xF];
        }

        destination[position++] = (byte)'\r';
        destination[position++] = (byte)'\n';
        return position;
    }

    /// <summary>Writes a whole chunk carrying <paramref name="data"/> (not empty). Returns its length.</summary>
    public static int Write(Span<byte> destination, ReadOnlySpan<byte> data)
    {
        var position = WriteHeader(destination, data.Length);
        data.CopyTo(destination[position..]);
        position += data.Length;
        EndOfChunk.CopyTo(destination[position..]);
        return position + EndOfChunk.Length;
    }
}
