using System.Buffers.Text;
using System.Text;

namespace Herald.Bench;

/// <summary>The two things the bench's raw-socket subscribers read from a response head: the status, and whether the body is chunked.</summary>
internal static class ResponseHead
{
    /// <summary>The status of an <c>HTTP/1.x</c> status line; false when <paramref name="head"/> does not start with one.</summary>
    public static bool TryReadStatus(ReadOnlySpan<byte> head, out int status)
    {
        status = 0;
        return head.Length >= 12 && head.StartsWith("HTTP/1."u8) && Utf8Parser.TryParse(head.Slice(9, 3), out status, out _);
    }

    /// <summary>Whether the head (up to the blank line) says <c>Transfer-Encoding: chunked</c>.</summary>
    public static bool IsChunked(ReadOnlySpan<byte> head)
    {
        var chunked = false;
        foreach (var range in head.Split("\r\n"u8))
        {
            var line = head[range];
            var colon = line.IndexOf((byte)':');
            if (colon > 0 && Ascii.EqualsIgnoreCase(line[..colon], "transfer-encoding"u8))
            {
                chunked = Ascii.EqualsIgnoreCase(line[(colon + 1)..].Trim((byte)' '), "chunked"u8);
            }
        }

        return chunked;
    }
}
