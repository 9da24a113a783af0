using System.Text.Json.Serialization;

namespace Herald.Bench;

[JsonSerializable(typeof(WorkerReport))]
[JsonSerializable(typeof(BenchResult))]
[JsonSerializable(typeof(StormResult))]
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
internal sealed partial class BenchJsonContext : JsonSerializerContext;
