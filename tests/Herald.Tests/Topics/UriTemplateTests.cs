using System.Text;
using Herald.Topics;

namespace Herald.Tests.Topics;

/// <summary>URI template matching: the same topics as before, in steps linear in the topic, in small automata.</summary>
public sealed class UriTemplateTests
{
    private const string Adversarial = "{+v1}{+v2}{+v3}{+v4}{+v5}{+v6}{+v7}{+v8}{+v9}{+v10}x";

    [Theory]
    [InlineData("https://example.com/books/{id}", "https://example.com/books/42", true)]
    [InlineData("https://example.com/books/{id}", "https://example.com/books/42/reviews", false)]
    [InlineData("https://example.com/books/{id}", "https://example.com/authors/42", false)]
    [InlineData("https://example.com/books/{id}", "https://example.com/books/", true)]
    [InlineData("https://example.com/books/{id}", "https://example.com/books/a%2Fb", true)]
    [InlineData("https://example.com/books/{id}", "https://example.com/books/a%2", false)]
    [InlineData("https://example.com/books/{id}", "https://example.com/books/1,2", true)]
    [InlineData("https://example.com/{+path}", "https://example.com/a/b/c", true)]
    [InlineData("https://example.com/{+path}", "https://example.com/a b", false)]
    [InlineData("https://example.com/books{?page}", "https://example.com/books?page=2", true)]
    [InlineData("https://example.com/books{?page}", "https://example.com/books", true)]
    [InlineData("https://example.com/books{?page}", "https://example.com/books?size=2", false)]
    [InlineData("https://example.com/books{?page,size}", "https://example.com/books?page=2&size=3", true)]
    [InlineData("https://example.com/books{?page}{&size}", "https://example.com/books?page=2&size=3", true)]
    [InlineData("https://example.com/books{?list*}", "https://example.com/books?list=a&list=b", true)]
    [InlineData("https://example.com{/a,b}", "https://example.com/x/y", true)]
    [InlineData("https://example.com{/path*}", "https://example.com/x/y/z", true)]
    [InlineData("https://example.com/x{.ext}", "https://example.com/x.json", true)]
    [InlineData("https://example.com/x{;a,b}", "https://example.com/x;a=1;b", true)]
    [InlineData("https://example.com/x{#frag}", "https://example.com/x#a/b", true)]
    [InlineData("https://example.com/{id:3}", "https://example.com/1234", true)]
    [InlineData("/.well-known/mercure/subscriptions{/topic}{/subscriber}", "/.well-known/mercure/subscriptions/a%2Fb/urn%3Auuid%3A1", true)]
    [InlineData("https://example.com/{id}", "https://example.com/1\n", false)]
    [InlineData(Adversarial, "aaaaaaaaaaaaaaaaaaaax", true)]
    [InlineData(Adversarial, "aaaaaaaaaaaaaaaaaaaa\"x", false)]
    public void Templates_match_as_Mercure_says(string template, string topic, bool matches)
    {
        Assert.True(UriTemplate.TryParse(template, out var compiled));
        Assert.Equal(matches, compiled!.Matches(topic));
    }

    [Theory]
    [InlineData("https://example.com/{id")]
    [InlineData("https://example.com/id}")]
    [InlineData("https://example.com/{}")]
    [InlineData("https://example.com/{a b}")]
    [InlineData("https://example.com/{id:0}")]
    [InlineData("https://example.com/{}id{")]
    public void Malformed_templates_do_not_parse(string template) => Assert.False(UriTemplate.TryParse(template, out _));

    /// <summary>
    /// Ten expansions then a literal made the backtracking regex try every split of the topic among ten groups
    /// (12 s for one publish). The automaton visits each of its instructions at most twice per character.
    /// </summary>
    [Fact]
    public void Ten_expansions_then_a_literal_cost_steps_linear_in_the_topic()
    {
        Assert.True(UriTemplate.TryParse(Adversarial, out var template));
        foreach (var length in (int[])[100, 1_000, 10_000])
        {
            var topic = new string('a', length) + "\"x";

            Assert.False(template!.Matches(topic, out var steps));
            Assert.True(steps <= 2L * template.Size * (topic.Length + 1), $"{steps} steps for {topic.Length} characters");
        }
    }

    [Fact]
    public void A_template_of_the_longest_allowed_length_compiles_to_a_small_automaton()
    {
        // The worst case per character: exploded named variables with one-letter names (about 6 instructions per character).
        var worst = new StringBuilder("{;a*");
        while (worst.Length < 2040)
        {
            worst.Append(",b*");
        }

        worst.Append('}');
        foreach (var text in (string[])[worst.ToString(), string.Concat(Enumerable.Repeat("{+v}", 512)), new string('a', 1024) + "{x}"])
        {
            Assert.True(UriTemplate.TryParse(text, out var template));
            Assert.True(template!.Size <= 8 * text.Length + 1, $"{template.Size} instructions for {text.Length} characters");

            var topic = string.Concat(Enumerable.Repeat("a=b;", 2_000));
            template.Matches(topic, out var steps);
            Assert.True(steps <= 2L * template.Size * (topic.Length + 1), $"{steps} steps for {topic.Length} characters");
        }
    }

    /// <summary>Random templates (levels 1–4) and topics, some built to match: the automaton agrees with the regex it replaced.</summary>
    [Fact]
    public void The_automaton_agrees_with_the_regex_it_replaced()
    {
        var random = new Random(6570);
        var disagreements = new List<string>();
        var cases = 0;
        var matched = 0;
        for (var i = 0; i < 3_000; i++)
        {
            var text = RandomTemplate(random);
            var legacy = LegacyTemplateRegex.Build(text);
            var parsed = UriTemplate.TryParse(text, out var template);
            Assert.True(parsed == (legacy is not null), $"parse disagrees on {text}");
            if (legacy is null)
            {
                continue;
            }

            for (var j = 0; j < 8; j++)
            {
                var topic = j < 5 ? RandomExpansion(random, text) : RandomTopic(random);
                if (j == 5)
                {
                    topic = Mutate(random, RandomExpansion(random, text));
                }

                cases++;
                matched += template!.Matches(topic) ? 1 : 0;
                if (legacy.IsMatch(topic) != template.Matches(topic))
                {
                    disagreements.Add($"{text} on {topic}: regex {legacy.IsMatch(topic)}");
                }
            }
        }

        Assert.True(disagreements.Count == 0, $"{disagreements.Count} of {cases}: " + string.Join("\n", disagreements.Take(10)));
        Assert.True(matched > cases / 5, $"only {matched} of {cases} cases match: the generator no longer tests matching");
    }

    [Fact]
    public void Subscribers_naming_the_same_template_share_one_automaton_until_the_last_leaves()
    {
        var registry = new TemplateRegistry();
        var first = TopicSelection.Compile(Selector.Topics(["https://example.com/{id}", "urn:exact", "*"]), registry, "http://localhost/.well-known/mercure");
        var second = TopicSelection.Compile(Selector.Topics(["https://example.com/{id}", "https://example.com/{+other}"]), registry, "http://localhost/.well-known/mercure");

        Assert.Same(first.Templates[0], second.Templates[0]);
        Assert.Equal(2, registry.Count);

        first.Release();
        first.Release();
        Assert.Equal(2, registry.Count);

        second.Release();
        Assert.Equal(0, registry.Count);
    }

    [Fact]
    public void A_selector_that_does_not_parse_matches_only_itself()
    {
        var selection = TopicSelection.Compile(Selector.Topics(["https://example.com/{id"]), new TemplateRegistry(), "http://localhost/.well-known/mercure");

        Assert.True(selection.Matches("https://example.com/{id"));
        Assert.False(selection.Matches("https://example.com/1"));
        Assert.Empty(selection.Templates);
    }

    private static readonly string[] Operators = ["", "+", "#", ".", "/", ";", "?", "&"];
    private static readonly string[] Names = ["a", "id", "x_y", "list", "b.c"];
    private const string Alphabet = "ab1-._~:/?#[]@!$&'()*+,;=% \"{}xü\n";

    private static string RandomTemplate(Random random)
    {
        var builder = new StringBuilder();
        var parts = random.Next(1, 5);
        for (var p = 0; p < parts; p++)
        {
            if (random.Next(3) == 0)
            {
                builder.Append(random.Next(4) switch { 0 => "https://example.com/", 1 => "/", 2 => "x", _ => "a-b" });
                continue;
            }

            builder.Append('{').Append(Operators[random.Next(Operators.Length)]);
            var variables = random.Next(1, 4);
            for (var v = 0; v < variables; v++)
            {
                builder.Append(v > 0 ? "," : "").Append(Names[random.Next(Names.Length)]);
                builder.Append(random.Next(5) switch { 0 => "*", 1 => ":3", _ => "" });
            }

            builder.Append('}');
            if (random.Next(40) == 0)
            {
                builder.Remove(builder.Length - 1, 1); // sometimes malformed
            }
        }

        return builder.ToString();
    }

    /// <summary>A topic shaped like the template: literals kept, each expression replaced by something plausible.</summary>
    private static string RandomExpansion(Random random, string template)
    {
        var topic = new StringBuilder();
        var i = 0;
        while (i < template.Length)
        {
            if (template[i] != '{')
            {
                topic.Append(template[i++]);
                continue;
            }

            var close = template.IndexOf('}', i);
            var body = template[(i + 1)..close];
            var op = body.Length > 0 && "+#./;?&".Contains(body[0], StringComparison.Ordinal) ? body[0].ToString() : "";
            var names = (op.Length > 0 ? body[1..] : body).Split(',');
            i = close + 1;
            if (random.Next(4) == 0)
            {
                continue; // every variable undefined
            }

            topic.Append(op is "+" or "" ? "" : op);
            for (var n = 0; n < names.Length; n++)
            {
                var name = names[n].TrimEnd('*').Split(':')[0];
                if (n > 0)
                {
                    topic.Append(op switch { "." => ".", "/" => "/", ";" => ";", "?" or "&" => "&", _ => "," });
                }

                if (op is ";" or "?" or "&")
                {
                    topic.Append(name);
                    if (random.Next(3) > 0)
                    {
                        topic.Append('=');
                    }
                }

                topic.Append(RandomValue(random));
            }
        }

        return topic.ToString();
    }

    private static string RandomValue(Random random)
    {
        var value = new StringBuilder();
        var length = random.Next(0, 6);
        for (var k = 0; k < length; k++)
        {
            value.Append(random.Next(8) switch
            {
                0 => "%2F",
                1 => ",",
                2 => "/",
                3 => "=",
                _ => "abz09-._~"[random.Next(9)].ToString(),
            });
        }

        return value.ToString();
    }

    private static string RandomTopic(Random random)
    {
        var length = random.Next(0, 24);
        var topic = new char[length];
        for (var k = 0; k < length; k++)
        {
            topic[k] = Alphabet[random.Next(Alphabet.Length)];
        }

        return new string(topic);
    }

    private static string Mutate(Random random, string topic)
    {
        var chars = new StringBuilder(topic);
        var edits = random.Next(1, 3);
        for (var e = 0; e < edits; e++)
        {
            var at = random.Next(chars.Length + 1);
            if (random.Next(2) == 0 && at < chars.Length)
            {
                chars.Remove(at, 1);
            }
            else
            {
                chars.Insert(at, Alphabet[random.Next(Alphabet.Length)]);
            }
        }

        return chars.ToString();
    }
}
