using Herald.Topics.UrlPatterns;

namespace Herald.Tests.Topics.UrlPatterns;

/// <summary>The Mercure 1.0 rules for the <c>urlpattern</c> matcher type (sections "URL Pattern" and "URL-Pattern Denial of Service").</summary>
public sealed class UrlPatternSpecTests
{
    private const string Hub = "https://example.com/.well-known/mercure";

    [Theory]
    [InlineData("https://example.com/bar/:id", "https://example.com/bar/1", true)]
    [InlineData("https://example.com/bar/:id", "https://example.com/bar/1/2", false)]
    [InlineData("https://example.com/bar/:id", "https://example.com/foo", false)]
    [InlineData("https://example.com/books/:id", "https://example.com/books/42", true)]
    public void Url_Pattern_matches_topics_as_the_spec_example_says(string pattern, string topic, bool matches) =>
        Assert.Equal(matches, Parse(pattern).Matches(topic));

    [Theory]
    [InlineData("/.well-known/mercure/subscriptions/exact/:topic/:subscriber", "https://example.com/.well-known/mercure/subscriptions/exact/t/urn%3Auuid%3A1", true)]
    [InlineData("/.well-known/mercure/subscriptions/exact/:topic/:subscriber", "/.well-known/mercure/subscriptions/exact/t/urn%3Auuid%3A1", true)]
    [InlineData("/.well-known/mercure/subscriptions/exact/:topic/:subscriber", "mercure/subscriptions/exact/t/s", true)]
    [InlineData("/.well-known/mercure/subscriptions/exact/:topic/:subscriber", "subscriptions/exact/t/s", false)]
    [InlineData("/.well-known/mercure/subscriptions/exact/:topic/:subscriber", "https://other.example/.well-known/mercure/subscriptions/exact/t/s", false)]
    [InlineData("/books/:id", "http://example.com/books/1", false)]
    [InlineData("books/:id", "/.well-known/books/1", true)]
    public void Url_Pattern_relative_patterns_and_topics_resolve_against_the_hub_URL(string pattern, string topic, bool matches) =>
        Assert.Equal(matches, Parse(pattern).Matches(topic));

    [Theory]
    [InlineData("urn\\:isbn\\:*", "urn:isbn:123", true)]
    [InlineData("urn\\:isbn\\:*", "/.well-known/isbn:123", false)]
    [InlineData("mailto\\::user@example.com", "mailto:a@example.com", true)]
    [InlineData("https://example.com", "https://example.com/any/path?q#f", true)]
    public void Url_Pattern_absolute_patterns_are_not_resolved_against_the_hub_URL(string pattern, string topic, bool matches) =>
        Assert.Equal(matches, Parse(pattern).Matches(topic));

    [Theory]
    [InlineData("http://[::1")]
    [InlineData("https://exa mple.com/books/1")]
    [InlineData("https://example.com:99999/books/1")]
    [InlineData("https://ex%ample.com/books/1")]
    [InlineData("foo://ex%41mple.com/books/1")]
    public void Url_Pattern_a_topic_that_cannot_be_parsed_matches_nothing(string topic)
    {
        Assert.False(Parse("*").Matches(topic));
        Assert.False(Parse("*://*/*").Matches(topic));
    }

    [Theory]
    [InlineData("https://EXAMPLE.com/Books/1?q#f", true)]
    [InlineData("HTTPS://example.COM/Books/1?q#f", true)]
    [InlineData("https://example.com/books/1?q#f", false)]
    [InlineData("https://example.com/Books/1?Q#f", false)]
    [InlineData("https://example.com/Books/1?q#F", false)]
    [InlineData("https://user@example.com/Books/1?q#f", true)]
    [InlineData("https://CAFÉ.example/Books/1?q#f", false)]
    public void Url_Pattern_hosts_are_case_insensitive_and_every_other_component_case_sensitive(string topic, bool matches) =>
        Assert.Equal(matches, Parse("https://example.com/Books/:id\\?q#f").Matches(topic));

    [Fact]
    public void Url_Pattern_ignoreCase_is_off_in_every_case_sensitive_component()
    {
        Assert.False(Parse("https://USER@example.com/*").Matches("https://user@example.com/x"));
        Assert.False(Parse("urn\\:isbn\\:X*").Matches("urn:isbn:x1"));
        Assert.True(Parse("urn\\:isbn\\:X*").Matches("urn:isbn:X1"));
    }

    [Fact]
    public void Url_Pattern_host_canonicalization_applies_to_internationalized_names_on_both_sides()
    {
        Assert.True(Parse("https://café.example/*").Matches("https://CAFÉ.example/x"));
        Assert.True(Parse("https://café.example/*").Matches("https://xn--caf-dma.example/x"));
        Assert.True(Parse("https://example.com/*").Matches("https://ＥＸＡＭＰＬＥ.com/x"));
    }

    [Theory]
    [InlineData("https://example.com/(\\1)", "backreference")]
    [InlineData("https://example.com/(a(?=b))", "lookaround")]
    [InlineData("https://example.com/(a(?<=b))", "lookaround")]
    [InlineData("https://example.com/(a(?i:b))", "'(?'")]
    [InlineData("https://example.com/(?i)", "regexp group")]
    [InlineData("https://example.com/((?:a{1000}){1000})", "too large")]
    [InlineData("https://example.com/([a-)", "not a valid regular expression")]
    [InlineData("https://example.com/:id/:id", "two groups")]
    [InlineData("/books/:id(", "not closed")]
    public void Url_Pattern_Denial_of_Service_constructs_that_need_backtracking_are_refused_with_a_one_line_reason(string pattern, string reason)
    {
        Assert.False(UrlPattern.TryParse(pattern, Hub, out _, out var error));
        Assert.Contains(reason, error, StringComparison.Ordinal);
        Assert.StartsWith("invalid URL pattern: ", error, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error);
        Assert.DoesNotContain("Exception", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Url_Pattern_Denial_of_Service_pathological_patterns_on_long_topics_give_the_right_answer()
    {
        var many = new string('a', 200_000);

        // Exponential for a backtracking engine (nested quantifiers, no final match); linear here.
        Assert.False(Parse("https://example.com/((?:a|aa)+b)").Matches("https://example.com/" + many));
        Assert.True(Parse("https://example.com/((?:a|aa)+b)").Matches("https://example.com/" + many + "b"));
        Assert.False(Parse("https://example.com/((?:a*)*b)").Matches("https://example.com/" + many));

        // Many optional and repeated groups over one long segment and many segments.
        Assert.False(Parse("https://example.com/p{/:a}*{/:b}*{/:c}*{/:d}*/x").Matches("https://example.com/p" + string.Concat(Enumerable.Repeat("/a", 50_000))));
        Assert.True(Parse("https://example.com/p{/:a}*{/:b}*{/:c}*{/:d}*/x").Matches("https://example.com/p" + string.Concat(Enumerable.Repeat("/a", 50_000)) + "/x"));
        Assert.False(Parse("https://example.com/*-*-*-*-*-*-*-*-*-z").Matches("https://example.com/" + string.Concat(Enumerable.Repeat("a-", 50_000))));
        Assert.True(Parse("https://{*.}*example.com/*").Matches("https://" + string.Concat(Enumerable.Repeat("a.", 20)) + "example.com/" + many));
    }

    private static UrlPattern Parse(string pattern)
    {
        Assert.True(UrlPattern.TryParse(pattern, Hub, out var compiled, out var error), error);
        return compiled;
    }
}
