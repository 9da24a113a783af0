using System.Buffers;
using System.Text;

namespace Herald.Sse;

/// <summary>
/// Encodes events to the bytes of the <c>text/event-stream</c> wire format. An event is encoded once and the
/// resulting array is shared by every connection it goes to, so encoding sits off the per-subscriber path.
/// </summary>
internal static class SseFrame
{
    /// <summary>The opening comment: sent at once so headers reach the client before the first event.</summary>
    public static readonly byte[] Opening = ":\n\n"u8.ToArray();

    /// <summary>The heartbeat comment that keeps idle streams (and the proxies in front of them) alive.</summary>
    public static readonly byte[] Heartbeat = ":\n\n"u8.ToArray();

    private static ReadOnlySpan<byte> IdPrefix => "id: "u8;
    private static ReadOnlySpan<byte> EventPrefix => "event: "u8;
    private static ReadOnlySpan<byte> RetryPrefix => "retry: "u8;
    private static ReadOnlySpan<byte> DataPrefix => "data: "u8;

    /// <summary>Throws when <paramref name="id"/> or <paramref name="eventType"/> could break the framing.</summary>
    public static void Validate(string? id, string? eventType)
    {
        if (Check(id, eventType) is { } error)
        {
            throw new ArgumentException("An SSE event " + error + ".", error.StartsWith("id", StringComparison.Ordinal) ? nameof(id) : nameof(eventType));
        }
    }

    /// <summary>Returns an error message when the id or type is invalid, otherwise <c>null</c>.</summary>
    public static string? Check(string? id, string? eventType)
    {
        if (id is not null && id.AsSpan().IndexOfAny('\r', '\n', '\0') >= 0)
        {
            return "id must not contain CR, LF or NUL";
        }

        return eventType is not null && eventType.AsSpan().IndexOfAny('\r', '\n') >= 0
            ? "type must not contain CR or LF"
            : null;
    }

    public static byte[] Encode(in ServerSentEvent e) => Encode(e.Data, e.EventType, e.Id, e.Retry);

    /// <summary>Encodes one event. The array is exactly the frame's length.</summary>
    public static byte[] Encode(string? data, string? eventType, string? id, TimeSpan? retry)
    {
        Validate(id, eventType);
        var buffer = new ArrayBufferWriter<byte>(64 + (data?.Length ?? 0));
        Write(buffer, data, eventType, id, retry);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Writes one event to <paramref name="writer"/>; the caller has validated id and type.</summary>
    public static void Write(IBufferWriter<byte> writer, string? data, string? eventType, string? id, TimeSpan? retry)
    {
        if (eventType is not null)
        {
            WriteField(writer, EventPrefix, eventType);
        }

        if (id is not null)
        {
            WriteField(writer, IdPrefix, id);
        }

        if (retry is { } r)
        {
            WriteField(writer, RetryPrefix, ((long)r.TotalMilliseconds).ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        var rest = (data ?? string.Empty).AsSpan();
        while (true)
        {
            var end = rest.IndexOfAny('\r', '\n');
            if (end < 0)
            {
                WriteField(writer, DataPrefix, rest);
                break;
            }

            WriteField(writer, DataPrefix, rest[..end]);
            var skip = rest[end] == '\r' && end + 1 < rest.Length && rest[end + 1] == '\n' ? 2 : 1;
            rest = rest[(end + skip)..];
        }

        writer.Write("\n"u8);
    }

    /// <summary>Encodes a comment line (plus the blank line that ends it): ignored by clients, keeps streams alive.</summary>
    public static byte[] Comment(string text)
    {
        if (text.AsSpan().IndexOfAny('\r', '\n') >= 0)
        {
            throw new ArgumentException("A comment must not contain CR or LF.", nameof(text));
        }

        var buffer = new ArrayBufferWriter<byte>(text.Length + 4);
        WriteField(buffer, ": "u8, text);
        buffer.Write("\n"u8);
        return buffer.WrittenSpan.ToArray();
    }

    private static void WriteField(IBufferWriter<byte> writer, ReadOnlySpan<byte> prefix, ReadOnlySpan<char> value)
    {
        var length = prefix.Length + Encoding.UTF8.GetByteCount(value) + 1;
        var span = writer.GetSpan(length);
        prefix.CopyTo(span);
        var written = prefix.Length + Encoding.UTF8.GetBytes(value, span[prefix.Length..]);
        span[written] = (byte)'\n';
        writer.Advance(written + 1);
    }
}
