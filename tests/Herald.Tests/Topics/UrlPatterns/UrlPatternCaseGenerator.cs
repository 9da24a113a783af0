namespace Herald.Tests.Topics.UrlPatterns;

/// <summary>
/// Generates URL patterns and topics from one seed: each pattern is built from component pieces that come with sample
/// values the piece should (or nearly) match, so topics built from the same pieces match often and their mutations
/// often do not. Kept out on purpose, where the npm polyfill departs from the standard rather than Herald (each is
/// documented there): <c>wss</c> with an explicit port 443 (its default-port table spells <c>wws</c>), paths beginning
/// with <c>//</c> (it re-parses a path as a URL, making the second slash an authority), invalid hostnames in a pattern
/// (its hostname setter ignores them), and ports with leading zeros.
/// </summary>
internal sealed class UrlPatternCaseGenerator(int seed)
{
    private static readonly string[] Hubs =
    [
        "https://hub.example.com/.well-known/mercure",
        "https://example.com/.well-known/mercure",
        "http://localhost:3000/.well-known/mercure",
    ];

    private static readonly (string Pattern, string[] Samples)[] Schemes =
    [
        ("https", ["https", "HTTPS", "http"]),
        ("http{s}?", ["http", "https", "ftp"]),
        ("*", ["https", "http", "ws", "urn"]),
        (":scheme", ["https", "foo"]),
        ("(https|wss)", ["https", "wss", "ws"]),
        ("http", ["http", "https"]),
    ];

    private static readonly (string Pattern, string[] Samples)[] Hosts =
    [
        ("example.com", ["example.com", "EXAMPLE.com", "www.example.com", "example.org"]),
        ("{*.}?example.com", ["example.com", "a.example.com", "a.b.example.com", "exampleXcom"]),
        (":sub.example.com", ["api.example.com", "example.com", "a.b.example.com"]),
        ("*.example.com", ["a.example.com", "example.com", "x.y.example.com"]),
        ("café.example", ["café.example", "xn--caf-dma.example", "cafe.example", "CAFÉ.example"]),
        ("127.0.0.1", ["127.0.0.1", "127.1", "0x7f.0.0.1", "127.0.0.2"]),
        ("[\\:\\:1]", ["[::1]", "[0:0::1]", "[::2]"]),
        ("example.com\\:8080", ["example.com:8080", "example.com:80", "example.com"]),
        ("*", ["example.com", "hub.example.com", "localhost:3000"]),
    ];

    private static readonly (string Pattern, string[] Samples)[] Segments =
    [
        ("books", ["books", "Books", "book"]),
        (":id", ["42", "abc", "a%20b", "", "x.y"]),
        (":id?", ["1", ""]),
        (":id+", ["1", "1/2", ""]),
        (":id*", ["1", "1/2/3", ""]),
        ("*", ["a", "a/b", ""]),
        ("(\\d+)", ["123", "12a", ""]),
        (":n(\\d+)", ["7", "x"]),
        (":slug([a-z-]+)", ["hello-world", "Hello"]),
        ("{:file.json}?", ["data.json", "data", ""]),
        ("caf%C3%A9", ["café", "caf%C3%A9", "caf%c3%a9"]),
        ("é", ["é", "%C3%A9", "e"]),
        ("a%20b", ["a b", "a%20b", "a+b"]),
        ("(a|b)", ["a", "b", "c"]),
        (".", [".", "x"]),
        ("..", ["..", "x"]),
        ("subscriptions", ["subscriptions", "subscription"]),
    ];

    private static readonly (string Pattern, string[] Samples)[] Queries =
    [
        (string.Empty, [string.Empty]),
        ("\\?page=:n", ["?page=2", "?page=", "?size=2", string.Empty]),
        ("\\?*", ["?a=b", "?", string.Empty]),
        ("\\?q=(a|b)", ["?q=a", "?q=c"]),
        ("\\?x='y'", ["?x='y'", "?x=%27y%27"]),
    ];

    private static readonly (string Pattern, string[] Samples)[] Fragments =
    [
        (string.Empty, [string.Empty]),
        ("#:frag", ["#top", "#", string.Empty]),
        ("#*", ["#a b", string.Empty]),
    ];

    /// <summary>Whole patterns besides the generated ones: relative ones, opaque paths, and text the standard refuses.</summary>
    private static readonly (string Pattern, string[] Samples)[] Whole =
    [
        ("/.well-known/mercure/subscriptions/:type/:topic/:subscriber", ["/.well-known/mercure/subscriptions/exact/t/urn%3Auuid%3A1", "subscriptions/exact/t/s", "/.well-known/mercure/subscriptions/exact/t"]),
        ("/books/:id", ["/books/1", "books/1", "https://hub.example.com/books/1", "https://example.com/books/1", "http://localhost:3000/books/1"]),
        ("books/:id", ["books/1", "/.well-known/books/1", "/books/1"]),
        ("?x=:x", ["?x=1", "/.well-known/mercure?x=1", "?y=1"]),
        ("#:h", ["#a", "", "#"]),
        ("urn\\:isbn\\::n(\\d+)", ["urn:isbn:123", "urn:isbn:x", "URN:isbn:1"]),
        ("urn\\:*", ["urn:a", "urn:", "urx:a"]),
        ("data\\:text/plain,:text", ["data:text/plain,hi", "data:text/html,hi"]),
        ("mailto\\::user@example.com", ["mailto:a@example.com", "mailto:a@example.org"]),
        ("foo://:host/x", ["foo://H/x", "foo://h/x", "foo://h%41/x"]),
        ("https://example.com/(\\d+)(?=x)", ["https://example.com/1"]),
        ("https://example.com/(a)\\1", ["https://example.com/aa"]),
        ("https://example.com/:id(", ["https://example.com/1"]),
        ("https://example.com/:id/:id", ["https://example.com/1/2"]),
        ("https://example.com/(café)", ["https://example.com/café"]),
        ("https://exa mple.com/", ["https://example.com/"]),
        ("https://example.com:99999/", ["https://example.com/"]),
        ("https://example.com/{a", ["https://example.com/a"]),
        ("https://example.com/(?i:a)", ["https://example.com/A"]),
        ("https://example.com/([a-", ["https://example.com/a"]),
        ("relative/:x", ["relative/1"]),
        ("*", ["anything", "https://x.example/y?z#w", "not a url:", "http://[::1"]),
        ("https://*", ["https://a/b", "http://a/b"]),
    ];

    private static readonly string[] Noise =
    [
        "http://[::1", "https://exa mple.com/", "https://example.com:99999/", "", " ", "//example.com/books/1",
        "https://user:pass@example.com/books/1", "https://example.com/books/1?page=2#top", "urn:uuid:1", "\u00e9",
        "https://example.com/books/1/", "HTTPS://EXAMPLE.COM/BOOKS/1", "https://example.com/%62ooks/1", "?page=2",
    ];

    private readonly Random _random = new(seed);

    public List<(string Pattern, string Hub, string[] Topics)> Generate(int patterns, int topicsPerPattern)
    {
        var cases = new List<(string, string, string[])>(patterns);
        for (var i = 0; i < patterns; i++)
        {
            var hub = Pick(Hubs);
            if (i < Whole.Length || _random.Next(8) == 0)
            {
                var (pattern, samples) = i < Whole.Length ? Whole[i] : Pick(Whole);
                cases.Add((pattern, hub, Topics(topicsPerPattern, () => Mutate(Pick(samples)))));
                continue;
            }

            var scheme = Pick(Schemes);
            var host = Pick(Hosts);
            var segments = Enumerable.Range(0, _random.Next(0, 4)).Select(_ => Pick(Segments)).ToArray();
            var query = Pick(Queries);
            var fragment = Pick(Fragments);
            var text = scheme.Pattern + "://" + host.Pattern + string.Concat(segments.Select(s => "/" + s.Pattern)) + query.Pattern + fragment.Pattern;
            cases.Add((text, hub, Topics(topicsPerPattern, () => Mutate(
                Pick(scheme.Samples) + "://" + Pick(host.Samples) + string.Concat(segments.Select(s => "/" + Pick(s.Samples)))
                + Pick(query.Samples) + Pick(fragment.Samples)))));
        }

        return cases;
    }

    private string[] Topics(int count, Func<string> next) =>
        Enumerable.Range(0, count).Select(_ => _random.Next(10) == 0 ? Pick(Noise) : WithoutEmptySegments(next())).ToArray();

    /// <summary>Empty samples would leave <c>//</c> in a path, where the polyfill departs from the standard.</summary>
    private static string WithoutEmptySegments(string topic)
    {
        var authority = topic.IndexOf("://", StringComparison.Ordinal);
        var start = authority < 0 ? 0 : authority + 3;
        var path = topic[start..];
        while (path.Contains("//", StringComparison.Ordinal))
        {
            path = path.Replace("//", "/", StringComparison.Ordinal);
        }

        return topic[..start] + path;
    }

    /// <summary>Half the topics unchanged; the others lose a character, gain a segment, or change case.</summary>
    private string Mutate(string topic)
    {
        if (topic.Length == 0 || _random.Next(2) == 0)
        {
            return topic;
        }

        return _random.Next(4) switch
        {
            0 => topic.Remove(_random.Next(topic.Length), 1),
            1 => topic + "/x",
            2 => topic.ToUpperInvariant(),
            _ => topic.Insert(_random.Next(topic.Length), "%2F"),
        };
    }

    private T Pick<T>(T[] items) => items[_random.Next(items.Length)];
}
