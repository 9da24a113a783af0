using System.Net;
using Herald.Topics;
using Herald.Topics.UrlPatterns;

namespace Herald.Tests.Topics;

/// <summary>
/// Where the hub-wide cap counts a matcher (<see cref="TemplateIndex{TValue}.BucketOf"/>, <see cref="UrlPatternIndex{TValue}.BucketOf"/>)
/// and how the registries apply it: per-user matchers each have their own bucket; what a topic probes at every length, or
/// runs at great cost, shares one bucket hub-wide; token claims (not counted) are never refused; one client brings at most
/// its share of a bucket's places, shared buckets hold four times an anchor's, and every place returns on release.
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

    [Fact]
    public void A_client_is_an_IPv4_address_or_an_IPv6_64_and_every_address_less_connection_is_one()
    {
        static MatcherClient Of(string address) => MatcherClient.From(IPAddress.Parse(address));

        Assert.Equal(Of("192.0.2.1"), Of("::ffff:192.0.2.1"));
        Assert.NotEqual(Of("192.0.2.1"), Of("192.0.2.2"));
        Assert.Equal(Of("2001:db8:1:2::1"), Of("2001:db8:1:2:ffff:ffff:ffff:ffff"));
        Assert.NotEqual(Of("2001:db8:1:2::1"), Of("2001:db8:1:3::1"));
        Assert.NotEqual(Of("::1"), Of("0.0.0.0"));
        Assert.NotEqual(Of("ffff:ffff:ffff:ffff::"), MatcherClient.Unknown);
        Assert.Equal(MatcherClient.Unknown, MatcherClient.From(null));
    }

    [Fact]
    public void One_client_brings_at_most_its_share_of_a_bucket_and_a_matcher_someone_holds_costs_no_share()
    {
        var (a, b) = (MatcherClient.From(IPAddress.Loopback), MatcherClient.From(IPAddress.Parse("127.0.0.2")));
        var templates = new TemplateRegistry(3, 2);
        var first = templates.Acquire("https://example.com/books/{id}", counted: true, a, out _)!;
        Assert.NotNull(templates.Acquire("https://example.com/books/{id}/a", counted: true, a, out _));
        Assert.Null(templates.Acquire("https://example.com/books/{id}/b", counted: true, a, out var refused));
        Assert.True(refused);

        // Another client takes the last place; then the bucket is full for everyone, but what is held is shared.
        var third = templates.Acquire("https://example.com/books/{id}/b", counted: true, b, out _)!;
        Assert.Null(templates.Acquire("https://example.com/books/{id}/c", counted: true, b, out _));
        Assert.Same(first, templates.Acquire("https://example.com/books/{id}", counted: true, b, out refused));
        Assert.False(refused);

        // A place stays charged to the client that brought it while anyone holds the template.
        templates.Release(first, counted: true);
        Assert.Null(templates.Acquire("https://example.com/books/{id}/c", counted: true, a, out _));
        templates.Release(first, counted: true);
        Assert.NotNull(templates.Acquire("https://example.com/books/{id}/c", counted: true, a, out _));
        Assert.Equal(2, templates.ClientPlaces);
        templates.Release(third, counted: true);
        Assert.Equal(1, templates.ClientPlaces);
    }

    [Fact]
    public void Shared_buckets_hold_four_times_an_anchor_s_places_and_the_many_expression_one_an_anchor_s()
    {
        var templates = new TemplateRegistry(2);
        var patterns = new UrlPatternRegistry(2);
        for (var n = 0; n < 2 * AnchorBudget.SharedFactor; n++)
        {
            Assert.NotNull(templates.Acquire($"{{+a}}/suffix/{n}", counted: true, out _));
            Assert.NotNull(templates.Acquire($"{{+a}}x{n:D3}{{+b}}", counted: true, out _));
            Assert.NotNull(templates.Acquire($"{{+a}}{n % 10}{{+b}}{n / 10}{{+c}}", counted: true, out _));
            Assert.NotNull(patterns.Acquire($"https://*.example.com/{n}", Hub, counted: true, out _));
        }

        Assert.Null(templates.Acquire("{+a}/suffix/last", counted: true, out _));
        Assert.Null(templates.Acquire("{+a}xlast{+b}", counted: true, out _));
        Assert.Null(templates.Acquire("{+a}-{+b}/{+c}", counted: true, out _));
        Assert.Null(patterns.Acquire("https://*.example.com/last", Hub, counted: true, out _));

        Assert.NotNull(templates.Acquire("https://example.com/{a}/{b}/{c}/{d}/{e}", counted: true, out _));
        Assert.NotNull(templates.Acquire("https://example.com/{a}/{b}/{c}/{d}/{e}/1", counted: true, out _));
        Assert.Null(templates.Acquire("https://example.com/{a}/{b}/{c}/{d}/{e}/2", counted: true, out _));
    }

    [Fact]
    public void Hub_URLs_are_capped_per_client_for_relative_patterns_and_an_absolute_pattern_with_no_place_is_held_for_none()
    {
        var (a, b) = (MatcherClient.From(IPAddress.Loopback), MatcherClient.From(IPAddress.Parse("127.0.0.2")));
        static string HubAt(int n) => $"https://made-up-{n}.example/.well-known/mercure";
        var patterns = new UrlPatternRegistry(3, 2);
        var relative = new List<UrlPattern>
        {
            patterns.Acquire("/books/:id", HubAt(1), counted: true, a, out _)!,
            patterns.Acquire("/books/:id", HubAt(2), counted: true, a, out _)!,
        };
        Assert.Null(patterns.Acquire("/books/:id", HubAt(3), counted: true, a, out var refused));
        Assert.True(refused);
        relative.Add(patterns.Acquire("/books/:id", Hub, counted: true, b, out _)!);
        Assert.Equal(3, patterns.BaseCount);

        // An absolute pattern from a hub URL already held is held for it (relative topics resolve against it, such as
        // subscription events); from one with no place left, for none: never refused for its hub URL.
        var held = patterns.Acquire("https://example.com/books/:id", Hub, counted: true, a, out _)!;
        Assert.Equal(Hub, held.BaseUrl);
        Assert.True(held.Matches("/books/1"));
        var baseless = patterns.Acquire("https://example.com/books/:id", HubAt(4), counted: true, a, out refused)!;
        Assert.False(refused);
        Assert.Equal((string.Empty, false), (baseless.BaseUrl, baseless.IsRelative));
        Assert.True(baseless.Matches("https://example.com/books/1"));
        Assert.False(baseless.Matches("/books/1"));
        Assert.Same(baseless, patterns.Acquire("https://example.com/books/:id", HubAt(5), counted: true, b, out _));
        Assert.Equal(3, patterns.BaseCount);

        // Every place returns.
        patterns.Release(baseless, counted: true);
        patterns.Release(baseless, counted: true);
        patterns.Release(held, counted: true);
        relative.ForEach(p => patterns.Release(p, counted: true));
        Assert.Equal((0, 0, 0), (patterns.Count, patterns.BaseCount, patterns.ClientPlaces));
    }
}
