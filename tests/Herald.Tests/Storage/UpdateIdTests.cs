using System.Text.RegularExpressions;
using Herald.Storage;

namespace Herald.Tests.Storage;

/// <summary>Generated update ids: version 7 UUIDs, as <see cref="Guid.CreateVersion7()"/> makes them.</summary>
public sealed partial class UpdateIdTests
{
    [GeneratedRegex("^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")]
    private static partial Regex Version7Urn();

    [Fact]
    public void An_id_is_a_urn_uuid_of_version_7_with_the_RFC_variant()
    {
        for (var i = 0; i < 1000; i++)
        {
            Assert.Matches(Version7Urn(), UpdateValidation.NewId());
        }
    }

    [Fact]
    public void The_timestamp_is_now_in_unix_milliseconds()
    {
        var before = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var id = UpdateValidation.NewId();
        var after = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

        var hex = id["urn:uuid:".Length..].Replace("-", "", StringComparison.Ordinal)[..12];
        var milliseconds = Convert.ToInt64(hex, 16);

        Assert.InRange(milliseconds, before, after);
    }

    [Fact]
    public void Ids_are_unique_across_threads_and_random_refills()
    {
        var ids = new System.Collections.Concurrent.ConcurrentBag<string>();
        Parallel.For(0, 8, _ =>
        {
            for (var i = 0; i < 5000; i++)
            {
                ids.Add(UpdateValidation.NewId());
            }
        });

        Assert.Equal(ids.Count, ids.Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public void Ids_of_later_milliseconds_sort_later()
    {
        var first = UpdateValidation.NewId();
        var deadline = Environment.TickCount64 + 1000;
        string second;
        do
        {
            second = UpdateValidation.NewId();
        }
        while (second[9..22] == first[9..22] && Environment.TickCount64 < deadline);

        Assert.True(string.CompareOrdinal(first, second) < 0, $"{first} before {second}");
    }
}
