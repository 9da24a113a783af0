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
}
