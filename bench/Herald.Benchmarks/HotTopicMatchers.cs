namespace Herald.Benchmarks;

/// <summary>
/// What an attacker can subscribe to make one busy topic's publishes expensive, at the hub-wide caps: for every bucket
/// of the matcher index that <see cref="Topic"/> probes (each prefix and suffix of it up to 64 characters for URI
/// templates, the inner-literal and always-run families, each pathname prefix under its host and under "any host" for
/// URL patterns), more candidates than the cap (the shared families: than <see cref="Topics.AnchorBudget.SharedFactor"/>
/// times it), each built so its cheap checks pass and its automaton or regex runs.
/// </summary>
internal static class HotTopicMatchers
{
    /// <summary>A 64-character topic, so every anchor length the index knows is in play.</summary>
    public const string Topic = "https://example.com/catalog/items/1234567890/comments/9876543210";

    private const string Host = "https://example.com";

    /// <summary>Candidate URI templates per bucket, in bucket order; the caps decide how many are held.</summary>
    public static IEnumerable<string> Templates(int perBucket)
    {
        for (var length = 1; length <= Math.Min(Topic.Length, 64); length++)
        {
            // Under the prefix Topic[..length]: a literal end of one character (shorter, so the prefix is the anchor), and
            // between them an inner literal the rest of the topic holds, so no cheap check stops the automaton.
            foreach (var middle in Middles(perBucket, Topic[length..Math.Max(length, Topic.Length - 1)]))
            {
                yield return Topic[..length] + middle + Topic[^1..];
            }

            // Under the suffix Topic[^length..]: a literal start shorter than it.
            var start = Math.Min(1, length - 1);
            foreach (var middle in Middles(perBucket, Topic[start..Math.Max(start, Topic.Length - length)]))
            {
                yield return Topic[..start] + middle + Topic[^length..];
            }
        }

        // Filed by an inner literal the topic holds (no literal end), then tried always (no literal of three characters):
        // shared families, with SharedFactor times an anchor's places, each template with at most four expressions.
        var shared = Topics.AnchorBudget.SharedFactor * perBucket;
        for (var n = 0; n < 2 * shared; n++)
        {
            yield return Expressions(1 + ((n / (Topic.Length - 3)) % 3)) + Topic.Substring(n % (Topic.Length - 3), 3) + Expressions(1);
        }

        foreach (var middle in Middles(shared, Topic))
        {
            yield return middle;
        }

        // With more expressions than an anchor of its own allows: one bucket for all of them, hub-wide.
        foreach (var middle in Middles(perBucket, Topic, expressions: 16))
        {
            yield return Topic[..20] + middle + Topic[^1..];
        }
    }

    /// <summary>Candidate URL patterns per bucket: each pathname prefix of the topic, under its host and under any host.</summary>
    public static IEnumerable<string> UrlPatterns(int perBucket)
    {
        var path = Topic[Host.Length..];
        for (var length = 1; length <= path.Length; length++)
        {
            for (var n = 0; n < 2 * perBucket; n++)
            {
                var tail = Groups(1 + (n % 4), path[(n / 4) % path.Length]);
                yield return Host + path[..length] + tail;
                yield return "https://*" + path[..length] + tail;
            }
        }
    }

    /// <summary>
    /// Distinct runs of <paramref name="expressions"/> expressions (the most an anchor of its own takes, by default) around
    /// one character of <paramref name="text"/>, or fewer expressions alone when it is empty.
    /// </summary>
    private static IEnumerable<string> Middles(int count, string text, int expressions = Topics.TemplateIndex<object>.MaxExpressionsPerAnchor)
    {
        var chars = text.Distinct().ToArray();
        for (var n = 0; n < 2 * count; n++)
        {
            var before = 1 + (n % (expressions - 1));
            yield return chars.Length == 0
                ? Expressions(1 + (n % expressions))
                : Expressions(before) + chars[(n / (expressions - 1)) % chars.Length] + Expressions(expressions - before);
        }
    }

    private static string Expressions(int count) => string.Concat(Enumerable.Range(0, count).Select(i => $"{{+v{i}}}"));

    private static string Groups(int count, char literal) => string.Concat(Enumerable.Repeat("(.*)", count)) + literal + "(.*)";
}
