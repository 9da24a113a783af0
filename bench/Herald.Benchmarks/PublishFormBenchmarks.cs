using System.Text;
using BenchmarkDotNet.Attributes;
using Herald.Mercure;
using Microsoft.AspNetCore.Http.Features;

namespace Herald.Benchmarks;

/// <summary>
/// Reading the fields of one urlencoded publish body, as the publish endpoint does for every POST: a small update
/// as a browser's form or a client library sends it (every reserved character escaped), and one with 4 KB of
/// escaped JSON data.
/// </summary>
[MemoryDiagnoser]
public class PublishFormBenchmarks
{
    private static readonly FormOptions Limits = new();

    private readonly byte[] _small = Body("{\"price\":42}");
    private readonly byte[] _large = Body("{\"items\":[" + string.Join(',', Enumerable.Range(0, 200).Select(i => $"{{\"n\":{i}, \"s\":\"é+{i}\"}}")) + "]}");

    [Benchmark(Baseline = true)]
    public string? PublishSmall() => Parse(_small);

    [Benchmark]
    public string? PublishLarge() => Parse(_large);

    private static string? Parse(byte[] body)
    {
        var error = PublishForm.TryParse(body, Limits, out var form);
        return error ?? form.Data;
    }

    private static byte[] Body(string data) => Encoding.UTF8.GetBytes(
        "topic=" + Uri.EscapeDataString("https://example.com/books/1")
        + "&topic=" + Uri.EscapeDataString("https://example.com/users/dunglas/{?topic}")
        + "&data=" + Uri.EscapeDataString(data).Replace("%20", "+", StringComparison.Ordinal)
        + "&private=on&id=" + Uri.EscapeDataString("urn:uuid:00000000-0000-0000-0000-000000000001")
        + "&type=update&retry=1000");
}
