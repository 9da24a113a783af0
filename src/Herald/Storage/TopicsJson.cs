using System.Buffers;
using System.Text;
using System.Text.Json;

namespace Herald.Storage;

/// <summary>
/// The <c>topics</c> column: a JSON array of strings. JSON rather than a side table so one row is one update
/// and one insert; read and written with the raw reader and writer because this runs once per stored update.
/// </summary>
internal static class TopicsJson
{
    public static string Serialize(IReadOnlyList<string> topics, ArrayBufferWriter<byte> buffer)
    {
        buffer.ResetWrittenCount();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartArray();
            for (var i = 0; i < topics.Count; i++)
            {
                writer.WriteStringValue(topics[i]);
            }

            writer.WriteEndArray();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>
    /// Writes the same JSON as <see cref="Serialize"/> into <paramref name="buffer"/> through a writer the caller
    /// reuses, and returns its UTF-8 bytes (valid until the next call). Throws <see cref="ArgumentException"/> for a
    /// topic that is not valid UTF-16.
    /// </summary>
    public static ReadOnlySpan<byte> Write(IReadOnlyList<string> topics, Utf8JsonWriter writer, ArrayBufferWriter<byte> buffer)
    {
        buffer.ResetWrittenCount();
        if (TryWriteVerbatim(topics, buffer))
        {
            return buffer.WrittenSpan;
        }

        buffer.ResetWrittenCount();
        writer.Reset(buffer);
        writer.WriteStartArray();
        for (var i = 0; i < topics.Count; i++)
        {
            writer.WriteStringValue(topics[i]);
        }

        writer.WriteEndArray();
        writer.Flush();
        return buffer.WrittenSpan;
    }

    /// <summary>
    /// Writes the array by hand when every topic is made of characters the JSON writer copies as they are (as
    /// topic URLs usually are), giving its very bytes; <c>false</c> when one needs escaping.
    /// </summary>
    private static bool TryWriteVerbatim(IReadOnlyList<string> topics, ArrayBufferWriter<byte> buffer)
    {
        var length = 1;
        for (var i = 0; i < topics.Count; i++)
        {
            if (topics[i].AsSpan().ContainsAnyExcept(Verbatim))
            {
                return false;
            }

            length += topics[i].Length + 3;
        }

        var span = buffer.GetSpan(length + 1);
        var at = 0;
        span[at++] = (byte)'[';
        for (var i = 0; i < topics.Count; i++)
        {
            if (i > 0)
            {
                span[at++] = (byte)',';
            }

            span[at++] = (byte)'"';
            at += Encoding.ASCII.GetBytes(topics[i], span[at..]);
            span[at++] = (byte)'"';
        }

        span[at++] = (byte)']';
        buffer.Advance(at);
        return true;
    }

    /// <summary>
    /// The printable ASCII characters <see cref="Utf8JsonWriter"/> (with its default encoder) writes unescaped,
    /// asked of the writer itself rather than listed here, so the hand-written arrays always equal its own.
    /// </summary>
    private static readonly SearchValues<char> Verbatim = SearchValues.Create(FindVerbatim());

    private static string FindVerbatim()
    {
        var verbatim = new StringBuilder();
        var buffer = new ArrayBufferWriter<byte>(16);
        using var writer = new Utf8JsonWriter(buffer);
        Span<byte> expected = stackalloc byte[3];
        for (var c = (char)0x20; c < 0x7F; c++)
        {
            buffer.ResetWrittenCount();
            writer.Reset(buffer);
            writer.WriteStringValue(c.ToString());
            writer.Flush();
            expected[0] = (byte)'"';
            expected[1] = (byte)c;
            expected[2] = (byte)'"';
            if (buffer.WrittenSpan.SequenceEqual(expected))
            {
                verbatim.Append(c);
            }
        }

        return verbatim.ToString();
    }

    public static string[] Parse(string json)
    {
        var bytes = Encoding.UTF8.GetBytes(json);
        var reader = new Utf8JsonReader(bytes);
        var topics = new List<string>(1);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartArray)
        {
            throw new JsonException("The topics column does not hold a JSON array.");
        }

        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            topics.Add(reader.GetString() ?? throw new JsonException("The topics column holds a null topic."));
        }

        return [.. topics];
    }
}
