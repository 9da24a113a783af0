using System.Text.Json.Serialization;

namespace Herald.Redis;

/// <summary>
/// An entry's topics field: a JSON array of strings, written as <see cref="System.Text.Json.Utf8JsonWriter"/> writes
/// it with its default encoder (the bytes every Herald node has always written, so streams written before still read).
/// Source-generated: no reflection on the append path.
/// </summary>
[JsonSerializable(typeof(string[]))]
[JsonSerializable(typeof(IReadOnlyList<string>))]
internal sealed partial class RedisJsonContext : JsonSerializerContext;
