using System.Text;
using Herald.Mercure;
using Herald.Topics;

namespace Herald.Tests.Mercure;

/// <summary>
/// <see cref="SubscribeRequest"/> on its own (Mercure 1.0, "Subscription"): the URL standard's form parsing of the query
/// and a body, which parameters become which selectors, and the refusals. The hub tests run the same rules end to end.
/// </summary>
public sealed class SubscribeRequestTests
{
    private const string HubUrl = "https://hub.example/.well-known/mercure";

    private static SubscribeRequest Parse(string query, string body = "", MercureProtocol protocol = MercureProtocol.Compatible)
    {
        var request = SubscribeRequest.Parse(query, Encoding.UTF8.GetBytes(body), new HeraldOptions { Protocol = protocol }, HubUrl, out var error);
        Assert.True(request is not null, error);
        return request;
    }

    private static string Refusal(string query, string body = "", MercureProtocol protocol = MercureProtocol.Compatible)
    {
        var request = SubscribeRequest.Parse(query, Encoding.UTF8.GetBytes(body), new HeraldOptions { Protocol = protocol }, HubUrl, out var error);
        Assert.Null(request);
        return error!;
    }

    [Fact]
    public void Subscription_every_matcher_parameter_of_query_and_body_becomes_a_selector_in_order()
    {
        var request = Parse("?match=a&topic=/t/{id}&match_exact=b", "match_urlpattern=*&match=c");
        Assert.Equal<Selector>(
            [Selector.Exact("a"), Selector.Topic("/t/{id}"), Selector.Exact("b"), Selector.UrlPattern("*"), Selector.Exact("c")],
            request.Selectors);
        Assert.True(request.IsV1);
    }

    [Fact]
    public void Subscription_a_request_with_topic_alone_is_a_0x_request()
    {
        var request = Parse("topic=a&lastEventID=x");
        Assert.False(request.IsV1);
        Assert.Equal("x", request.RequestedLastEventId);
    }

    [Fact]
    public void Subscription_on_a_1_0_only_hub_topic_and_lastEventID_are_ignored()
    {
        var request = Parse("topic=a&match=b&lastEventID=x", protocol: MercureProtocol.V1);
        Assert.Equal<Selector>([Selector.Exact("b")], request.Selectors);
        Assert.Null(request.RequestedLastEventId);
        Assert.Equal("missing match parameter (match, match_exact or match_urlpattern)", Refusal("topic=a", protocol: MercureProtocol.V1));
    }

    [Theory]
    [InlineData("match=a+b", "a b")]
    [InlineData("match=a%2Bb", "a+b")]
    [InlineData("match=%zz%", "%zz%")]
    [InlineData("match=a%3Db%26c", "a=b&c")]
    [InlineData("m%61tch=x", "x")]
    [InlineData("match=a=b", "a=b")]
    [InlineData("&&match=x&&", "x")]
    [InlineData("match=%E2%82%AC", "\u20ac")]
    [InlineData("match=%F0%9F%98%80", "\U0001F600")]
    public void Subscription_names_and_values_are_decoded_as_URLSearchParams_reads_them(string query, string value)
        => Assert.Equal<Selector>([Selector.Exact(value)], Parse(query).Selectors);

    [Fact]
    public void Subscription_a_0x_topic_is_decoded_as_ASP_NET_Core_decodes_it()
    {
        // Unchanged 0.x meaning: an escape that is not UTF-8 stays as text (ASP.NET Core's query reader does that).
        Assert.Equal<Selector>([Selector.Topic("%FF"), Selector.Topic("a b")], Parse("topic=%FF&topic=a+b").Selectors);
    }

    [Fact]
    public void Subscription_a_query_string_that_is_not_UTF_8_is_refused()
    {
        // Kestrel never hands one over; a context an app builds might.
        Assert.Equal("the query string is not valid UTF-8", Refusal("match=a\ud800"));
    }

    [Fact]
    public void Reconciliation_last_event_id_takes_its_first_value_and_the_query_is_read_before_the_body()
    {
        Assert.Equal("q", Parse("match=a&last_event_id=q&last_event_id=r", "last_event_id=b").RequestedLastEventId);
        Assert.Equal("b", Parse("match=a", "last_event_id=b").RequestedLastEventId);
        Assert.Equal("new", Parse("match=a&lastEventID=old&last_event_id=new").RequestedLastEventId);
        Assert.True(Parse("topic=a&last_event_id=x").IsV1);
    }

    [Fact]
    public void Subscription_the_caps_count_query_and_body_together()
    {
        var options = new HeraldOptions { MaxTopicsPerSubscription = 3, MaxTemplateSelectorsPerSubscription = 1 };
        Assert.Null(SubscribeRequest.Parse("match=a&match=b", "match=c&match=d"u8, options, HubUrl, out var error));
        Assert.Equal("too many match parameters (at most 3)", error);

        Assert.Null(SubscribeRequest.Parse("topic=/a/{x}", "topic=/b/{y}"u8, options, HubUrl, out error));
        Assert.Equal("too many URI template topic parameters (MaxTemplateSelectorsPerSubscription: at most 1)", error);

        // Wildcards and exact values cost nothing per publish: they do not count as patterns.
        Assert.NotNull(SubscribeRequest.Parse("topic=*&match_urlpattern=*&topic=/a/{x}", [], options, HubUrl, out _));
    }

    [Fact]
    public void Subscription_0x_caps_keep_their_0x_answers()
    {
        var options = new HeraldOptions { MaxTopicsPerSubscription = 2, MaxTemplateExpressions = 1 };
        Assert.Null(SubscribeRequest.Parse("topic=a&topic=b&topic=c", [], options, HubUrl, out var error));
        Assert.Equal("too many topic parameters (at most 2)", error);
        Assert.Null(SubscribeRequest.Parse("topic=/{a}/{b}", [], options, HubUrl, out error));
        Assert.Equal("topic parameter has too many template expressions (MaxTemplateExpressions: at most 1)", error);
        Assert.Equal("empty topic parameter", Refusal("topic="));
        Assert.Equal("topic parameter must not contain NUL", Refusal("topic=a%00"));
    }

    [Fact]
    public void Subscription_other_parameters_are_ignored()
    {
        Assert.Equal<Selector>([Selector.Exact("a")], Parse("authorization=x&foo=bar&ma=1&matc=2&match=a").Selectors);
    }

    /// <summary>
    /// Random queries and bodies from hostile pieces: every one is read or refused with a reason that names no value
    /// (each value holds the marker "zq"), and nothing throws.
    /// </summary>
    [Fact]
    public void Subscription_hostile_queries_are_read_or_refused_without_echoing_a_value()
    {
        string[] names = ["match", "match_exact", "match_urlpattern", "topic", "last_event_id", "lastEventID", "Match", "match_x", "m%61tch", "x", ""];
        string[] pieces = ["zq", "%FF", "%C3", "%ED%A0%80", "%00", "%0A", "%7F", "%C2%85", "%E2%80%AE", "%EF%BB%BF", "%", "%z", "+", "%2B", "=", "*", "{", "/:id", "\ud800", "\u00e9"];
        var random = new Random(15);
        var options = new HeraldOptions { MaxTopicsPerSubscription = 8, MaxSelectorLength = 64 };
        for (var round = 0; round < 20_000; round++)
        {
            var parts = new List<string>();
            for (var p = random.Next(0, 6); p > 0; p--)
            {
                var value = string.Concat(Enumerable.Range(0, random.Next(0, 5)).Select(_ => pieces[random.Next(pieces.Length)])) + "zq";
                parts.Add(names[random.Next(names.Length)] + (random.Next(5) == 0 ? string.Empty : "=" + value));
            }

            var query = string.Join('&', parts);
            var body = random.Next(3) == 0 ? Encoding.UTF8.GetBytes(query) : [];
            var request = SubscribeRequest.Parse(query, body, options, HubUrl, out var error);
            if (request is null)
            {
                Assert.NotNull(error);
                Assert.DoesNotContain("zq", error, StringComparison.Ordinal);
                Assert.DoesNotContain('\n', error);
            }
            else
            {
                Assert.NotEmpty(request.Selectors);
                Assert.All(request.Selectors.Where(s => s.Type != MatcherType.Topic), s => Assert.Null(Herald.Storage.UpdateValidation.FindForbidden(s.Value)));
            }
        }
    }
}
