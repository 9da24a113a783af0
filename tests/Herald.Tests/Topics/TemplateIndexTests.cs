using Herald.Topics;

namespace Herald.Tests.Topics;

/// <summary>The dispatcher's template index finds exactly the templates that match, each once.</summary>
public sealed class TemplateIndexTests
{
    private static readonly string[] Templates =
    [
        "https://example.com/books/{id}",
        "https://example.com/books/{id}/reviews",
        "https://example.com/{+path}",
        "https://example.org/{+path}",
        "{+v1}{+v2}{+v3}x",
        "{+v1}{+v2}{+v3}x1",
        "{+a}/books/{+b}",
        "{+a}",
        "{scheme}://example.com/books/{id}",
        "https://example.com/" + new string('p', 100) + "/{id}",
        "{+a}/" + new string('s', 100),
        "urn:{kind}:{id}",
        "{+a}books{+b}",
        "{+a}/books/{id}{+b}",
        "h{+a}books{+b}",
        "{+a}xx{+b}",
        "{+a}ss{+b}s{+c}",
        "{+a}sss{+b}",
        "{+a}ps/{+b}",
    ];

    private static readonly string[] Topics =
    [
        "https://example.com/books/1",
        "https://example.com/books/1/reviews",
        "https://example.org/x",
        "aaax",
        "aaax1",
        "x",
        "https://example.com/" + new string('p', 100) + "/7",
        "https://example.com/" + new string('p', 99) + "/7",
        "a/" + new string('s', 100),
        "a/" + new string('s', 99),
        "urn:a:b",
        "books",
        "bookbooks/books",
        "ssss",
        "",
        "https",
    ];

    [Fact]
    public void A_publish_finds_the_templates_that_match_one_of_its_topics_once_each()
    {
        var index = new TemplateIndex<string>();
        var compiled = new List<UriTemplate>();
        foreach (var text in Templates)
        {
            Assert.True(UriTemplate.TryParse(text, out var template));
            compiled.Add(template!);
            index.Add(template!, text);
        }

        var stamp = 0L;
        foreach (var first in Topics)
        {
            foreach (var second in Topics)
            {
                string[] topics = [first, second];
                var found = new List<string>();
                index.CollectMatches(topics, ++stamp, found);

                var expected = compiled.Where(t => t.Matches(first) || t.Matches(second)).Select(t => t.Template);
                Assert.Equal(expected.Order(StringComparer.Ordinal), found.Order(StringComparer.Ordinal));
            }
        }
    }

    [Fact]
    public void Removed_templates_are_no_longer_found()
    {
        var index = new TemplateIndex<string>();
        Assert.True(UriTemplate.TryParse("https://example.com/{id}", out var prefixed));
        Assert.True(UriTemplate.TryParse("{+a}x", out var suffixed));
        Assert.True(UriTemplate.TryParse("{+a}", out var bare));
        index.Add(prefixed!, "prefixed");
        index.Add(suffixed!, "suffixed");
        index.Add(bare!, "bare");

        index.Remove(prefixed!);
        index.Remove(suffixed!);
        index.Remove(bare!);

        var found = new List<string>();
        index.CollectMatches(["https://example.com/x"], 1, found);
        Assert.Empty(found);
        Assert.Equal(0, index.Count);
    }

    [Fact]
    public void Templates_that_differ_only_in_names_share_a_key_and_others_do_not()
    {
        static string Key(string text) => UriTemplate.TryParse(text, out var t) ? t!.Key : "";

        Assert.Equal(Key("https://example.com/{id}"), Key("https://example.com/{bookId:3}"));
        Assert.Equal(Key("{+a}{+b}x"), Key("{+c}{+d}x"));
        Assert.NotEqual(Key("https://example.com/{id}"), Key("https://example.com/{+id}"));
        Assert.NotEqual(Key("https://example.com{?page}"), Key("https://example.com{?size}"));
        Assert.NotEqual(Key("https://example.com{;a*}"), Key("https://example.com{;a}"));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Random_templates_with_or_without_literal_ends_are_found_as_brute_force_finds_them(int seed)
    {
        // A small alphabet so literals recur in topics, overlap themselves ("aab" in "aaab") and occur more than once.
        var random = new Random(seed);
        string Text(int max) => new([.. Enumerable.Range(0, random.Next(max + 1)).Select(_ => "ab/."[random.Next(4)])]);
        string[] operators = ["", "+", "#", "/", ".", "?"];
        var index = new TemplateIndex<string>();
        var live = new Dictionary<string, UriTemplate>(StringComparer.Ordinal);
        for (var round = 0; round < 600; round++)
        {
            var text = Text(2);
            for (var e = random.Next(1, 4); e > 0; e--)
            {
                text += $"{{{operators[random.Next(operators.Length)]}v{e}}}" + Text(5);
            }

            if (random.Next(3) == 0)
            {
                text += Text(4);
            }

            Assert.True(UriTemplate.TryParse(text, out var template), text);
            if (live.Remove(template!.Template, out var old))
            {
                index.Remove(old);
            }
            else if (!index.TryGetValue(template, out _))
            {
                live[text] = template;
                index.Add(template, text);
            }

            string[] topics = [Text(12), Text(12)];
            var found = new List<string>();
            index.CollectMatches(topics, round + 1, found);
            var expected = live.Values.Where(t => t.Matches(topics[0]) || t.Matches(topics[1])).Select(t => t.Template);
            Assert.Equal(expected.Order(StringComparer.Ordinal), found.Order(StringComparer.Ordinal));
        }

        Assert.Contains(live.Values, t => TemplateIndex<string>.FilingOf(t) == TemplateIndex<string>.Filing.Inner);
    }

    [Theory]
    [InlineData("{+a}x0.1{+b}", "Inner")]
    [InlineData("h{+a}x0.1{+b}", "Inner")]
    [InlineData("https://{host}/books/{id}", "Prefix")]
    [InlineData("{+base}/books/{id}", "Inner")]
    [InlineData("{+a}/{+b}x", "Suffix")]
    [InlineData("{+anything}", "Always")]
    [InlineData("{+a}/{+b}.{+c}", "Always")]
    public void A_template_is_filed_under_its_most_selective_literal(string text, string filing)
    {
        Assert.True(UriTemplate.TryParse(text, out var template));
        Assert.Equal(filing, TemplateIndex<string>.FilingOf(template!).ToString());
    }
}
