using System.Text.Json;
using Herald.Topics.UrlPatterns;

namespace Herald.Tests.Topics.UrlPatterns;

/// <summary>
/// Mercure 1.0 "URL Pattern": patterns are evaluated per the URL Pattern Living Standard. Runs the web-platform-tests
/// data (urlpatterntestdata.json, see urlpatterntestdata.ORIGIN.md): for every entry the hub's features cover, the
/// pattern is refused exactly when the data says "error", and each input matches exactly when the data expects a match.
/// Groups and the component strings of expected_obj are not compared: the hub only needs match or no match.
/// </summary>
public sealed class UrlPatternWebPlatformTests
{
    /// <summary>
    /// Entries this copy of the data predates: the standard since changed which components a base URL gives (only the
    /// components before the first one given: whatwg/urlpattern "baseURL inheritance"), and the npm urlpattern-polyfill
    /// 10.1.0 answers these seven the other way too (checked with tests/node). They run, expecting the current answer.
    /// </summary>
    private static readonly int[] Superseded = [12, 15, 16, 18, 19, 24, 348];

    private static readonly string[] ComponentKeys = ["protocol", "username", "password", "hostname", "port", "pathname", "search", "hash", "baseURL"];

    private static readonly Lazy<JsonElement[]> Entries = new(() =>
    {
        var path = Path.Combine(AppContext.BaseDirectory, "Topics", "UrlPatterns", "urlpatterntestdata.json");
        using var document = JsonDocument.Parse(File.ReadAllText(path));
        return document.RootElement.EnumerateArray().Select(entry => entry.Clone()).ToArray();
    });

    public static TheoryData<int> RunnableEntries()
    {
        var data = new TheoryData<int>();
        for (var i = 0; i < Entries.Value.Length; i++)
        {
            if (ExclusionReason(Entries.Value[i]) is null)
            {
                data.Add(i);
            }
        }

        return data;
    }

    /// <summary>
    /// Why an entry does not run, or null when it does. Two kinds are left out:
    /// <list type="bullet">
    /// <item>a pattern with <c>caseSensitivePath</c> (or an options argument): case-insensitive matching, which is
    /// <c>ignoreCase</c> by another name, and Mercure 1.0 forbids enabling it;</item>
    /// <item>an expected match of "error": calling <c>exec</c> with components and a separate base URL, a misuse of the
    /// JavaScript API that a topic string cannot express.</item>
    /// </list>
    /// </summary>
    private static string? ExclusionReason(JsonElement entry)
    {
        var pattern = entry.GetProperty("pattern");
        if (pattern.GetArrayLength() > 2 || pattern.EnumerateArray().Any(p => p.ValueKind == JsonValueKind.Object && p.TryGetProperty("caseSensitivePath", out _)))
        {
            return "ignoreCase";
        }

        if (entry.TryGetProperty("expected_match", out var expected) && expected.ValueKind == JsonValueKind.String)
        {
            return "exec misuse";
        }

        return null;
    }

    [Fact]
    public void Url_Pattern_test_data_runs_every_entry_the_protocol_uses()
    {
        var reasons = Entries.Value.Select(ExclusionReason).ToArray();
        Assert.Equal(444, reasons.Length);
        Assert.Equal(114, reasons.Count(reason => reason == "ignoreCase"));
        Assert.Equal(1, reasons.Count(reason => reason == "exec misuse"));
        Assert.Equal(329, reasons.Count(reason => reason is null));
        Assert.All(Superseded, index => Assert.Null(reasons[index]));
    }

    [Theory]
    [MemberData(nameof(RunnableEntries))]
    public void Url_Pattern_matches_as_the_web_platform_tests_expect(int index)
    {
        var entry = Entries.Value[index];
        var pattern = entry.GetProperty("pattern");
        var created = Create(pattern, out var compiled, out var error);
        var expectsError = entry.TryGetProperty("expected_obj", out var expectedObject) && expectedObject.ValueKind == JsonValueKind.String;
        Assert.True(created != expectsError, $"entry {index} {pattern}: created {created}, expected error {expectsError} ({error})");
        if (!created)
        {
            Assert.False(string.IsNullOrEmpty(error));
            Assert.DoesNotContain('\n', error);
            return;
        }

        var expectsMatch = (entry.GetProperty("expected_match").ValueKind == JsonValueKind.Object) != Superseded.Contains(index);
        var inputs = entry.TryGetProperty("inputs", out var given) ? given : default;
        Assert.True(expectsMatch == Matches(compiled!, inputs), $"entry {index} {pattern} with {inputs}: expected match {expectsMatch}");
    }

    private static bool Create(JsonElement pattern, out UrlPattern? compiled, out string? error)
    {
        var items = pattern.EnumerateArray().ToArray();
        var baseUrl = items.Length > 1 ? items[1].GetString() : null;
        if (items.Length == 0)
        {
            return UrlPattern.TryCreate(null, new UrlPatternInit(), null, out compiled, out error);
        }

        return items[0].ValueKind == JsonValueKind.String
            ? UrlPattern.TryCreate(items[0].GetString(), null, baseUrl, out compiled, out error)
            : UrlPattern.TryCreate(null, ToInit(items[0]), baseUrl, out compiled, out error);
    }

    private static bool Matches(UrlPattern pattern, JsonElement inputs)
    {
        var items = inputs.ValueKind == JsonValueKind.Array ? inputs.EnumerateArray().ToArray() : [];
        if (items.Length == 0 || items[0].ValueKind == JsonValueKind.Object)
        {
            var init = items.Length == 0 ? new UrlPatternInit() : ToInit(items[0]);
            var url = new UrlPatternInit
            {
                Protocol = string.Empty, Username = string.Empty, Password = string.Empty, Hostname = string.Empty,
                Port = string.Empty, Pathname = string.Empty, Search = string.Empty, Hash = string.Empty,
            };
            try
            {
                UrlPatternInit.Process(url, init, pattern: false);
            }
            catch (UrlPatternException)
            {
                return false;
            }

            return pattern.Matches(UrlComponents.FromInit(url));
        }

        UrlRecord? baseUrl = null;
        if (items.Length > 1)
        {
            baseUrl = UrlParser.Parse(items[1].GetString()!);
            if (baseUrl is null)
            {
                return false;
            }
        }

        return UrlComponents.Parse(items[0].GetString()!, baseUrl) is { } components && pattern.Matches(components);
    }

    private static UrlPatternInit ToInit(JsonElement dictionary)
    {
        string? Get(string name) => dictionary.TryGetProperty(name, out var value) ? value.GetString() : null;
        Assert.All(dictionary.EnumerateObject(), property => Assert.Contains(property.Name, ComponentKeys));
        return new UrlPatternInit
        {
            Protocol = Get("protocol"),
            Username = Get("username"),
            Password = Get("password"),
            Hostname = Get("hostname"),
            Port = Get("port"),
            Pathname = Get("pathname"),
            Search = Get("search"),
            Hash = Get("hash"),
            BaseUrl = Get("baseURL"),
        };
    }
}
