using System.Text.Json;
using Herald.Tests.Client;
using Herald.Topics.UrlPatterns;
using Xunit.Abstractions;

namespace Herald.Tests.Topics.UrlPatterns;

/// <summary>
/// Mercure 1.0 "URL Pattern": Herald's engine answers as the npm <c>urlpattern-polyfill</c> (tests/node/urlpattern.mjs)
/// on generated patterns and topics: same refusals, same match or no match for every topic, relative patterns and
/// relative topics resolved against the hub URL.
/// </summary>
public sealed class UrlPatternDifferentialTests(ITestOutputHelper output)
{
    private const int Seed = 20261207;
    private const int PatternCount = 400;
    private const int TopicsPerPattern = 16;

    [Fact]
    public async Task Url_Pattern_answers_as_the_npm_urlpattern_polyfill_on_generated_patterns_and_topics()
    {
        var cases = new UrlPatternCaseGenerator(Seed).Generate(PatternCount, TopicsPerPattern);
        var answers = await AskPolyfillAsync(cases);
        Assert.Equal(cases.Count, answers.Length);

        var disagreements = new List<string>();
        int patterns = 0, refused = 0, checks = 0, matched = 0;
        for (var i = 0; i < cases.Count; i++)
        {
            var (pattern, hub, topics) = cases[i];
            var answer = answers[i];
            var expectError = answer.GetProperty("error").GetBoolean();
            var parsed = UrlPattern.TryParse(pattern, hub, out var compiled, out var error);
            patterns++;
            if (parsed == expectError)
            {
                disagreements.Add($"{pattern} (hub {hub}): polyfill error {expectError}, Herald error {!parsed} ({error})");
                continue;
            }

            if (!parsed)
            {
                refused++;
                Assert.DoesNotContain('\n', error!);
                continue;
            }

            var expected = answer.GetProperty("matches").EnumerateArray().Select(m => m.GetBoolean()).ToArray();
            for (var t = 0; t < topics.Length; t++)
            {
                checks++;
                var actual = compiled!.Matches(topics[t]);
                matched += actual ? 1 : 0;
                if (actual != expected[t])
                {
                    disagreements.Add($"{pattern} (hub {hub}) on {topics[t]}: polyfill {expected[t]}, Herald {actual}");
                }
            }
        }

        output.WriteLine($"{patterns} patterns ({refused} refused by both), {checks} topics checked, {matched} matches, {disagreements.Count} disagreements");
        Assert.True(disagreements.Count == 0, $"{disagreements.Count} disagreements:\n" + string.Join('\n', disagreements.Take(40)));

        // The generator must exercise both sides: refusals, matches and non-matches in numbers.
        Assert.Equal(PatternCount, patterns);
        Assert.InRange(refused, 5, PatternCount / 2);
        Assert.InRange(matched, checks / 10, checks - (checks / 10));
    }

    private static async Task<JsonElement[]> AskPolyfillAsync(IReadOnlyList<(string Pattern, string Hub, string[] Topics)> cases)
    {
        var project = await NodeProject.InstallAsync();
        var file = Path.Combine(Path.GetTempPath(), $"herald-urlpattern-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(file, JsonSerializer.Serialize(cases.Select(c => new { pattern = c.Pattern, @base = c.Hub, inputs = c.Topics })));
        try
        {
            await using var node = NodeProject.Start("node", [Path.Combine(project, "urlpattern.mjs"), file], project);
            var line = await node.NextLineAsync(TimeSpan.FromSeconds(120));
            await node.WaitForExitAsync(TimeSpan.FromSeconds(120));
            Assert.True(node.ExitCode == 0, $"node urlpattern.mjs failed ({node.ExitCode}): {node.Stderr}");
            using var document = JsonDocument.Parse(line);
            return document.RootElement.EnumerateArray().Select(answer => answer.Clone()).ToArray();
        }
        finally
        {
            File.Delete(file);
        }
    }
}
