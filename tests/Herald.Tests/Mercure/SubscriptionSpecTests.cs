using Herald.Tests.Infrastructure;

namespace Herald.Tests.Mercure;

/// <summary>
/// Mercure 1.0, "Subscription" and "Matcher Types": which parameters subscribe to what, and which requests are refused,
/// on a 0.x + 1.0 hub and a 1.0-only hub, each on the direct path and on Kestrel's.
/// </summary>
[Collection(SubscriptionHubsCollection.Name)]
public sealed class SubscriptionSpecTests(SubscriptionHubs hubs)
{
    [Fact]
    public async Task Subscription_match_and_match_exact_select_topics_byte_for_byte()
    {
        await SubscriptionHubs.OnEach(hubs.All, async hub =>
        {
            var a = hub.NewTopic("Books");
            var b = hub.NewTopic("caf\u00e9");
            await using var reader = await hub.SubscribeAsync($"match={Uri.EscapeDataString(a)}&match_exact={Uri.EscapeDataString(b)}", b);

            // Another case, the same text decomposed (NFD), a prefix: none is the topic.
            await hub.PublishAsync(a.Replace("Books", "books", StringComparison.Ordinal), "case");
            await hub.PublishAsync(b.Replace("caf\u00e9", "cafe\u0301", StringComparison.Ordinal), "nfd");
            await hub.PublishAsync(a[..^1], "prefix");
            await hub.PublishAsync(a, "a");
            await hub.PublishAsync(b, "b");

            Assert.Equal("a", (await reader.NextAsync())?.Data);
            Assert.Equal("b", (await reader.NextAsync())?.Data);
        });
    }

    [Fact]
    public async Task Matcher_Types_exact_values_are_never_resolved_against_the_hub_URL()
    {
        await SubscriptionHubs.OnEach(hubs.All, async hub =>
        {
            var path = "/exact/" + Guid.NewGuid().ToString("N");
            await using var reader = await hub.SubscribeAsync("match=" + Uri.EscapeDataString(path), path);

            await hub.PublishAsync(hub.BaseUrl + path, "absolute");
            await hub.PublishAsync(path, "relative");

            Assert.Equal("relative", (await reader.NextAsync())?.Data);
        });
    }

    [Fact]
    public async Task Matcher_Types_the_wildcard_matches_every_topic_whatever_the_matcher_type()
    {
        foreach (var parameter in new[] { "match", "match_exact", "match_urlpattern" })
        {
            await SubscriptionHubs.OnEach(hubs.All, async hub =>
            {
                // The marker keeps this subscription apart from the other tests' for the registration wait.
                var marker = hub.NewTopic("marker");
                await using var reader = await hub.SubscribeAsync($"{parameter}=*&match={Uri.EscapeDataString(marker)}", marker);
                var topic = hub.NewTopic("any");
                await hub.PublishAsync(topic, parameter);

                var item = await reader.NextAsync();
                Assert.Equal(parameter, item?.Data);
            });
        }
    }

    [Fact]
    public async Task Subscription_values_are_percent_decoded_as_URLSearchParams_encodes_them()
    {
        await SubscriptionHubs.OnEach(hubs.All, async hub =>
        {
            var topic = hub.NewTopic("a+b c&d=e;f%g");

            // URLSearchParams: space as '+', and '+', '&', '=', ';', '%' escaped. A '%' that starts no escape stays.
            var encoded = topic.Replace("%", "%25", StringComparison.Ordinal).Replace("+", "%2B", StringComparison.Ordinal)
                .Replace(" ", "+", StringComparison.Ordinal).Replace("&", "%26", StringComparison.Ordinal)
                .Replace("=", "%3D", StringComparison.Ordinal).Replace(";", "%3B", StringComparison.Ordinal);
            var stray = hub.NewTopic("100%zz");
            await using var reader = await hub.SubscribeAsync($"match={encoded}&match={stray}", stray);

            await hub.PublishAsync(topic, "decoded");
            await hub.PublishAsync(stray, "stray");

            Assert.Equal("decoded", (await reader.NextAsync())?.Data);
            Assert.Equal("stray", (await reader.NextAsync())?.Data);
        });
    }

    [Fact]
    public async Task Subscription_a_request_mixing_match_and_topic_receives_the_union()
    {
        await SubscriptionHubs.OnEach(hubs.Compatible, async hub =>
        {
            var exact = hub.NewTopic("exact");
            var template = hub.NewTopic("template") + "/{id}";
            await using var reader = await hub.SubscribeAsync($"match={Uri.EscapeDataString(exact)}&topic={Uri.EscapeDataString(template)}", template);

            await hub.PublishAsync(template.Replace("{id}", "1", StringComparison.Ordinal), "template");
            await hub.PublishAsync(exact, "exact");

            Assert.Equal("template", (await reader.NextAsync())?.Data);
            Assert.Equal("exact", (await reader.NextAsync())?.Data);
        });
    }

    [Fact]
    public async Task Subscription_0x_topic_keeps_its_URI_template_meaning_on_a_compatible_hub()
    {
        await SubscriptionHubs.OnEach(hubs.Compatible, async hub =>
        {
            var template = hub.NewTopic("books") + "/{id}";
            await using var reader = await hub.SubscribeAsync("topic=" + Uri.EscapeDataString(template), template);

            await hub.PublishAsync(template.Replace("{id}", "7", StringComparison.Ordinal), "seven");
            Assert.Equal("seven", (await reader.NextAsync())?.Data);
        });
    }

    [Fact]
    public async Task Subscription_match_is_exact_even_for_a_value_that_looks_like_a_URI_template()
    {
        await SubscriptionHubs.OnEach(hubs.All, async hub =>
        {
            var template = hub.NewTopic("books") + "/{id}";
            await using var reader = await hub.SubscribeAsync("match=" + Uri.EscapeDataString(template), template);

            await hub.PublishAsync(template.Replace("{id}", "7", StringComparison.Ordinal), "expanded");
            await hub.PublishAsync(template, "literal");
            Assert.Equal("literal", (await reader.NextAsync())?.Data);
        });
    }

    [Fact]
    public async Task Subscription_topic_is_not_a_matcher_on_a_1_0_only_hub()
    {
        await SubscriptionHubs.OnEach([hubs.V1Direct, hubs.V1Kestrel], async hub =>
        {
            var topic = hub.NewTopic("t");
            var (status, body) = await hub.RefusalAsync("topic=" + Uri.EscapeDataString(topic));
            Assert.Equal(400, status);
            Assert.StartsWith("missing match parameter", body, StringComparison.Ordinal);

            // Beside a matcher it is ignored: only the matcher subscribes.
            var other = hub.NewTopic("m");
            await using var reader = await hub.SubscribeAsync($"topic={Uri.EscapeDataString(topic)}&match={Uri.EscapeDataString(other)}", other);
            await hub.PublishAsync(topic, "topic");
            await hub.PublishAsync(other, "match");
            Assert.Equal("match", (await reader.NextAsync())?.Data);
        });
    }

    [Fact]
    public async Task Subscription_a_request_without_a_matcher_is_400()
    {
        await SubscriptionHubs.OnEach(hubs.All, async hub =>
        {
            var (status, body) = await hub.RefusalAsync("last_event_id=earliest");
            Assert.Equal(400, status);
            Assert.Equal("missing match parameter (match, match_exact or match_urlpattern)\n", body);
        });

        // A 0.x request keeps its 0.x answer.
        await SubscriptionHubs.OnEach(hubs.Compatible, async hub => Assert.Equal((400, "missing topic parameter\n"), await hub.RefusalAsync("x=1")));
    }

    [Theory]
    [InlineData("match_regex", "match_regex")]
    [InlineData("matchx", "matchx")]
    [InlineData("matching", "matching")]
    [InlineData("match_URLPATTERN", "match_URLPATTERN")]
    [InlineData("MATCH_exact", "MATCH_exact")]
    [InlineData("m%61tch_%66oo", "match_foo")]
    [InlineData("match%01x", "(a name starting with match)")]
    public async Task Subscription_a_match_prefixed_unknown_parameter_is_400(string name, string named)
    {
        await SubscriptionHubs.OnEach(hubs.All, async hub =>
        {
            var (status, body) = await hub.RefusalAsync($"match=a&{name}=b");
            Assert.Equal(400, status);
            Assert.Equal($"unsupported matcher parameter {named}: use match, match_exact or match_urlpattern\n", body);
        });
    }

    [Fact]
    public async Task Subscription_matcher_parameter_names_are_case_sensitive()
    {
        // "Match" is not "match": it is in the reserved namespace and names no matcher type.
        await SubscriptionHubs.OnEach(hubs.All, async hub => Assert.Equal(400, (await hub.RefusalAsync("Match=a")).Status));
    }

    /// <summary>Escapes whose bytes are not UTF-8: a lone byte, a cut sequence, an encoded surrogate, an overlong '/', past U+10FFFF.</summary>
    [Theory]
    [InlineData("%FF")]
    [InlineData("a%C3")]
    [InlineData("%ED%A0%80")]
    [InlineData("%C0%AF")]
    [InlineData("%F4%90%80%80")]
    public async Task Subscription_matcher_values_must_be_valid_UTF_8(string escaped)
    {
        await SubscriptionHubs.OnEach(hubs.All, async hub =>
        {
            foreach (var parameter in new[] { "match", "match_exact", "match_urlpattern" })
            {
                var (status, body) = await hub.RefusalAsync($"{parameter}=x{escaped}");
                Assert.Equal(400, status);
                Assert.Equal($"{parameter} parameter is not valid UTF-8\n", body);
            }
        });
    }

    /// <summary>C0 (NUL, LF, ESC, US), DEL, C1 (first, NEL, last), and category Cf: LRM, ZWSP, RLO, BOM, a tag character.</summary>
    [Theory]
    [InlineData("%00")]
    [InlineData("%0A")]
    [InlineData("%1B")]
    [InlineData("%1F")]
    [InlineData("%7F")]
    [InlineData("%C2%80")]
    [InlineData("%C2%85")]
    [InlineData("%C2%9F")]
    [InlineData("%E2%80%8E")]
    [InlineData("%E2%80%8B")]
    [InlineData("%E2%80%AE")]
    [InlineData("%EF%BB%BF")]
    [InlineData("%F3%A0%80%81")]
    public async Task Subscription_matcher_values_must_not_hold_control_or_format_characters(string escaped)
    {
        await SubscriptionHubs.OnEach(hubs.All, async hub =>
        {
            foreach (var parameter in new[] { "match", "match_exact", "match_urlpattern" })
            {
                var (status, body) = await hub.RefusalAsync($"{parameter}=secret-value{escaped}");
                Assert.Equal(400, status);
                Assert.Equal($"{parameter} parameter must not contain control or format characters\n", body);
                Assert.DoesNotContain("secret-value", body, StringComparison.Ordinal);
            }
        });
    }

    [Theory]
    [InlineData("match=")]
    [InlineData("match")]
    [InlineData("match_exact=")]
    [InlineData("match_urlpattern=")]
    public async Task Subscription_an_empty_matcher_value_is_400(string query)
    {
        var parameter = query.TrimEnd('=');
        await SubscriptionHubs.OnEach(hubs.All, async hub => Assert.Equal((400, $"empty {parameter} parameter\n"), await hub.RefusalAsync(query)));
    }

    [Fact]
    public async Task Subscription_the_number_and_length_of_matchers_are_capped()
    {
        await SubscriptionHubs.OnEach(hubs.All, async hub =>
        {
            var options = hub.Mercure.Options;
            var many = string.Join('&', Enumerable.Range(0, options.MaxTopicsPerSubscription + 1).Select(i => $"match=t{i}"));
            Assert.Equal((400, $"too many match parameters (at most {options.MaxTopicsPerSubscription})\n"), await hub.RefusalAsync(many));

            var mixed = string.Join('&', Enumerable.Range(0, options.MaxTopicsPerSubscription).Select(i => $"match_exact=t{i}")) + "&match_urlpattern=*";
            Assert.Equal(400, (await hub.RefusalAsync(mixed)).Status);

            var longest = "match=" + new string('a', options.MaxSelectorLength);
            var marker = new string('a', options.MaxSelectorLength);
            await using (await hub.SubscribeAsync(longest, marker))
            {
            }

            Assert.Equal((400, $"match parameter too long (MaxSelectorLength: at most {options.MaxSelectorLength} characters)\n"), await hub.RefusalAsync(longest + "a"));
        });
    }

    [Fact]
    public async Task Subscription_URL_patterns_per_subscription_are_capped_like_URI_templates()
    {
        await SubscriptionHubs.OnEach(hubs.All, async hub =>
        {
            var cap = hub.Mercure.Options.MaxTemplateSelectorsPerSubscription;

            // Counted before a pattern is parsed, so the cap holds whatever the engine accepts.
            var patterns = string.Join('&', Enumerable.Range(0, cap + 1).Select(i => $"match_urlpattern=/p{i}/:id"));
            var (status, body) = await hub.RefusalAsync(patterns);
            Assert.Equal(400, status);
            if (body.StartsWith("too many", StringComparison.Ordinal))
            {
                Assert.Equal($"too many URL pattern and URI template parameters (MaxTemplateSelectorsPerSubscription: at most {cap})\n", body);
            }
            else
            {
                // Until the URL Pattern engine lands, the first pattern is refused before the cap is reached.
                Assert.StartsWith("invalid match_urlpattern parameter: ", body, StringComparison.Ordinal);
            }
        });
    }

    [Fact]
    public async Task Matcher_Types_a_URL_pattern_that_does_not_parse_is_400_with_its_reason()
    {
        await SubscriptionHubs.OnEach(hubs.All, async hub =>
        {
            var (status, body) = await hub.RefusalAsync("match_urlpattern=" + Uri.EscapeDataString("/books/(unclosed"));
            Assert.Equal(400, status);
            Assert.StartsWith("invalid match_urlpattern parameter: ", body, StringComparison.Ordinal);
            Assert.Single(body.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        });
    }

    /// <summary>Needs the URL Pattern engine (until it lands, every pattern is refused with 400).</summary>
    [Fact]
    public async Task Matcher_Types_match_urlpattern_matches_relative_and_absolute_topics_against_the_hub_URL()
    {
        await SubscriptionHubs.OnEach(hubs.All, async hub =>
        {
            var books = "/books-" + Guid.NewGuid().ToString("N");
            await using var reader = await hub.SubscribeAsync($"match_urlpattern={Uri.EscapeDataString(books + "/:id")}", books + "/:id");

            await hub.PublishAsync(books + "/1/reviews", "deeper");
            await hub.PublishAsync(books + "/1", "relative");
            await hub.PublishAsync(hub.BaseUrl + books + "/2", "absolute");
            await hub.PublishAsync("https://other.example" + books + "/3", "other host");
            await hub.PublishAsync(books.ToUpperInvariant() + "/4", "other case");
            await hub.PublishAsync(books + "/5", "last");

            Assert.Equal("relative", (await reader.NextAsync())?.Data);
            Assert.Equal("absolute", (await reader.NextAsync())?.Data);
            Assert.Equal("last", (await reader.NextAsync())?.Data);
        });
    }

    [Fact]
    public async Task Subscription_a_0x_and_a_1_0_subscriber_of_one_topic_get_the_same_updates()
    {
        await SubscriptionHubs.OnEach(hubs.Compatible, async hub =>
        {
            var topic = hub.NewTopic("shared");
            var escaped = Uri.EscapeDataString(topic);
            var token = TestHub.SubscriberToken(topic);
            await using var legacy = await hub.SubscribeAsync("topic=" + escaped, topic, token);
            await using var current = await hub.SubscribeAsync("match=" + escaped + "&match_exact=" + Uri.EscapeDataString(topic + "/x"), topic + "/x", token);
            await TestHub.Eventually(() => hub.Mercure.Dispatcher.Snapshot().Count(s => s.Selectors.Any(x => x.Value == topic)) == 2, "both subscribers");

            var sent = new List<string>
            {
                await hub.PublishAsync(topic, "public"),
                await hub.PublishAsync(topic, "private", isPrivate: true),
                await hub.PublishAsync(topic, "line one\nline two"),
            };

            foreach (var reader in new[] { legacy, current })
            {
                var got = new List<string>();
                for (var i = 0; i < sent.Count; i++)
                {
                    got.Add((await reader.NextAsync())!.Value.EventId!);
                }

                Assert.Equal(sent, got);
            }
        });
    }
}
