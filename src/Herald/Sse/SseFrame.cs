using System.Buffers;
using System.Diagnostics;
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

    public static byte[] Encode(in ServerSentEvent e) => Encode(e.Data, e.EventType, e.EventId, e.ReconnectionInterval);

    /// <summary>Encodes one event, refusing an id or type that could break the framing (<see cref="Validate"/>).</summary>
    /// <remarks>For events an app hands over as they are (<c>MapEventStream</c>); a hub's updates were checked when they came in.</remarks>
    public static byte[] Encode(string? data, string? eventType, string? id, TimeSpan? retry)
    {
        Validate(id, eventType);
        return EncodeValidated(data, eventType, id, retry);
    }

    /// <summary>
    /// Encodes one event whose id and type the caller has checked (a hub's update passed <see cref="Update.Check"/>,
    /// which refuses every control character). The array is exactly the frame's length.
    /// </summary>
    /// <remarks>Measured first, then written straight into the array: one allocation, no copy, once per update.</remarks>
    public static byte[] EncodeValidated(string? data, string? eventType, string? id, TimeSpan? retry)
    {
        Span<byte> retryDigits = stackalloc byte[24];
        var retryLength = 0;
        if (retry is { } r)
        {
            ((long)r.TotalMilliseconds).TryFormat(retryDigits, out retryLength, default, System.Globalization.CultureInfo.InvariantCulture);
        }

        var length = 1;
        if (eventType is not null)
        {
            length += EventPrefix.Length + Encoding.UTF8.GetByteCount(eventType) + 1;
        }

        if (id is not null)
        {
            length += IdPrefix.Length + Encoding.UTF8.GetByteCount(id) + 1;
        }

        if (retry is not null)
        {
            length += RetryPrefix.Length + retryLength + 1;
        }

        var rest = (data ?? string.Empty).AsSpan();
        while (true)
        {
            var end = rest.IndexOfAny('\r', '\n');
            length += DataPrefix.Length + Encoding.UTF8.GetByteCount(end < 0 ? rest : rest[..end]) + 1;
            if (end < 0)
            {
                break;
            }

            rest = rest[(end + LineEndLength(rest, end))..];
        }

        var frame = GC.AllocateUninitializedArray<byte>(length);
        var span = frame.AsSpan();
        if (eventType is not null)
        {
            span = Field(span, EventPrefix, eventType);
        }

        if (id is not null)
        {
            span = Field(span, IdPrefix, id);
        }

        if (retry is not null)
        {
            span = Field(span, RetryPrefix, retryDigits[..retryLength]);
        }

        rest = (data ?? string.Empty).AsSpan();
        while (true)
        {
            var end = rest.IndexOfAny('\r', '\n');
            if (end < 0)
            {
                span = Field(span, DataPrefix, rest);
                break;
            }

            span = Field(span, DataPrefix, rest[..end]);
            rest = rest[(end + LineEndLength(rest, end))..];
        }

        span[0] = (byte)'\n';
        Debug.Assert(span.Length == 1, "The frame was measured wrong.");
        return frame;
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
            rest = rest[(end + LineEndLength(rest, end))..];
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

    /// <summary>CRLF counts as one line end, so it does not make an empty data line.</summary>
    private static int LineEndLength(ReadOnlySpan<char> text, int end)
        => text[end] == '\r' && end + 1 < text.Length && text[end + 1] == '\n' ? 2 : 1;

    /// <summary>Writes <c>prefix value LF</c> at the start of <paramref name="destination"/>; returns what follows it.</summary>
    private static Span<byte> Field(Span<byte> destination, scoped ReadOnlySpan<byte> prefix, scoped ReadOnlySpan<char> value)
    {
        prefix.CopyTo(destination);
        var written = prefix.Length + Encoding.UTF8.GetBytes(value, destination[prefix.Length..]);
        destination[written] = (byte)'\n';
        return destination[(written + 1)..];
    }

    private static Span<byte> Field(Span<byte> destination, scoped ReadOnlySpan<byte> prefix, scoped ReadOnlySpan<byte> value)
    {
        prefix.CopyTo(destination);
        value.CopyTo(destination[prefix.Length..]);
        destination[prefix.Length + value.Length] = (byte)'\n';
        return destination[(prefix.Length + value.Length + 1)..];
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
