using Herald.Topics;
using Herald.Topics.UrlPatterns;

namespace Herald.Tests.Topics;

/// <summary>
/// Where the hub-wide cap counts a matcher (<see cref="TemplateIndex{TValue}.BucketOf"/>, <see cref="UrlPatternIndex{TValue}.BucketOf"/>)
/// and how the registries apply it: per-user matchers each have their own bucket; what a topic probes at every length, or
/// runs at great cost, shares one bucket hub-wide; token claims (not counted) are never refused.
/// </summary>
public sealed class AnchorBudgetTests
{
    private const string Hub = "https://example.com/.well-known/mercure";

    [Fact]
    public void Templates_are_counted_under_their_literal_start_or_one_shared_bucket()
    {
        static string Bucket(string text) => TemplateIndex<object>.BucketOf(UriTemplate.TryParse(text, out var t) ? t! : throw new ArgumentException(text));

        Assert.NotEqual(Bucket("https://example.com/users/1/{+rest}"), Bucket("https://example.com/users/2/{+rest}"));
        Assert.Equal(Bucket("https://example.com/books/{id}"), Bucket("https://example.com/books/{id}/reviews"));
        Assert.Equal("s", Bucket("{scheme}://example.com/books/1"));
        Assert.Equal("i", Bucket("{+a}x0.1{+b}"));
        Assert.Equal("*", Bucket("{+a}/{+b}"));
        Assert.Equal("x", Bucket("https://example.com/{a}/{b}/{c}/{d}/{e}"));
    }

    [Fact]
    public void Url_patterns_are_counted_under_their_host_and_pathname_start_and_host_less_ones_share_one_bucket()
    {
        static string Bucket(string text) => UrlPatternIndex<object>.BucketOf(UrlPattern.TryParse(text, Hub, out var p, out _) ? p : throw new ArgumentException(text));

        Assert.NotEqual(Bucket("https://example.com/users/1/*"), Bucket("https://example.com/users/2/*"));
        Assert.Equal(Bucket("https://example.com/books/:id"), Bucket("https://example.com/books/:id/reviews"));
        Assert.Equal(Bucket("/books/:id"), Bucket("https://example.com/books/(\\d+)"));
        Assert.Equal("a", Bucket("https://*.example.com/books/:id"));
        Assert.Equal("a", Bucket("*://*/*"));
    }

    [Fact]
    public void A_registry_refuses_the_matcher_past_the_cap_but_never_a_shared_one_or_a_token_claim_and_frees_a_place_on_release()
    {
        var templates = new TemplateRegistry(2);
        var first = templates.Acquire("https://example.com/books/{id}", counted: true, out _)!;
        Assert.NotNull(templates.Acquire("https://example.com/books/{id}/a", counted: true, out _));
        Assert.Null(templates.Acquire("https://example.com/books/{id}/b", counted: true, out var refused));
        Assert.True(refused);
        Assert.Same(first, templates.Acquire("https://example.com/books/{bookId}", counted: true, out refused));
        Assert.False(refused);
        Assert.NotNull(templates.Acquire("https://example.com/books/{id}/b", counted: false, out refused));
        Assert.False(refused);

        templates.Release(first, counted: true);
        Assert.Null(templates.Acquire("https://example.com/books/{id}/c", counted: true, out _));
        templates.Release(first, counted: true);
        Assert.NotNull(templates.Acquire("https://example.com/books/{id}/c", counted: true, out _));

        var patterns = new UrlPatternRegistry(2);
        var pattern = patterns.Acquire("https://example.com/books/:id", Hub, counted: true, out _)!;
        Assert.NotNull(patterns.Acquire("https://example.com/books/:id/a", Hub, counted: true, out _));
        Assert.Null(patterns.Acquire("https://example.com/books/:id/b", Hub, counted: true, out refused));
        Assert.True(refused);
        Assert.Same(pattern, patterns.Acquire("https://example.com/books/:id", Hub, counted: true, out _));
        patterns.Release(pattern, counted: true);
        patterns.Release(pattern, counted: true);
        Assert.NotNull(patterns.Acquire("https://example.com/books/:id/b", Hub, counted: true, out _));
    }
}
