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
