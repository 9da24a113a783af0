using System.Text.Json;
using Herald.Security;
using Herald.Topics;
using static Herald.Tests.Security.AccessTokens;
using static Herald.Tests.Security.TestTokens;

namespace Herald.Tests.Security;

/// <summary>Mercure 1.0, "Authorization Details", "Topic Matcher List" and "Payloads": the rights of an access token.</summary>
public sealed class AuthorizationDetailsSpecTests
{
    private static readonly string Good = Detail("""["publish"]""", """[{"match":"https://example.com/books/1"}]""");

    private static async Task<TokenResult> Validate(string details, TokenAudience audience = TokenAudience.Publisher)
        => await IssuerValidator().ValidateAsync(AccessTokens.Hs256(audience == TokenAudience.Publisher ? PublisherKey : SubscriberKey, Claims(details)), audience);

    [Fact]
    public async Task Authorization_Details_actions_grant_publish_and_subscribe_on_their_topics()
    {
        var details = "[" + Detail("""["publish"]""", """[{"match":"https://example.com/a"},{"match":"https://example.com/b","match_type":"exact"}]""")
            + "," + Detail("""["subscribe","publish"]""", """[{"match":"https://example.com/c"}]""") + "]";

        var claims = (await Validate(details)).Claims!;

        Assert.Equal(TokenGeneration.V1, claims.Generation);
        Assert.Equal([Selector.Exact("https://example.com/a"), Selector.Exact("https://example.com/b"), Selector.Exact("https://example.com/c")], claims.Publish);
        Assert.Equal([Selector.Exact("https://example.com/c")], claims.Subscribe);
        Assert.Null(claims.Payload);
    }

    [Fact]
    public async Task Authorization_Details_entries_of_other_types_are_ignored()
    {
        var details = """[{"type":"payment_initiation","actions":["initiate"],"locations":["https://bank.example"]},""" + Good
            + """,{"type":"https://mercure.rocks/authorization-detail/","actions":["publish"],"topics":["bare"]}]""";

        var result = await Validate(details);

        Assert.True(result.IsValid, result.Error);
        Assert.Equal([Selector.Exact("https://example.com/books/1")], result.Claims!.Publish);
    }

    [Fact]
    public async Task Authorization_Details_a_token_without_a_Mercure_detail_grants_nothing()
    {
        var empty = await Validate("[]");
        var otherOnly = await Validate("""[{"type":"account_information","actions":["read"]}]""");

        Assert.Empty(empty.Claims!.Publish!);
        Assert.Empty(empty.Claims.Subscribe!);
        Assert.Empty(otherOnly.Claims!.Publish!);
    }

    [Fact]
    public async Task Authorization_Details_unknown_actions_grant_nothing_and_do_not_invalidate_the_token()
    {
        // The spec lets issuers name actions of future specifications: they grant nothing here.
        var result = await Validate("[" + Detail("""["presence","publish"]""", """[{"match":"a"}]""") + "," + Detail("""["presence"]""", """[{"match":"b"}]""") + "]");

        Assert.True(result.IsValid, result.Error);
        Assert.Equal([Selector.Exact("a")], result.Claims!.Publish);
        Assert.Empty(result.Claims.Subscribe!);
    }

    [Theory]
    [InlineData("""{"type":"DETAIL"}""", "authorization_details must be an array")]
    [InlineData("""["bare"]""", "authorization_details entries must be objects with a type")]
    [InlineData("""[{"actions":["publish"]}]""", "authorization_details entries must be objects with a type")]
    [InlineData("""[{"type":"https://mercure.rocks/authorization-detail","topics":[{"match":"a"}]}]""", "actions must be a non-empty array")]
    [InlineData("""[{"type":"https://mercure.rocks/authorization-detail","actions":[],"topics":[{"match":"a"}]}]""", "actions must be a non-empty array")]
    [InlineData("""[{"type":"https://mercure.rocks/authorization-detail","actions":"publish","topics":[{"match":"a"}]}]""", "actions must be a non-empty array")]
    [InlineData("""[{"type":"https://mercure.rocks/authorization-detail","actions":["publish",1],"topics":[{"match":"a"}]}]""", "actions must be strings")]
    [InlineData("""[{"type":"https://mercure.rocks/authorization-detail","actions":["publish"]}]""", "topics must be a non-empty array")]
    [InlineData("""[{"type":"https://mercure.rocks/authorization-detail","actions":["publish"],"topics":[]}]""", "topics must be a non-empty array")]
    [InlineData("""[{"type":"https://mercure.rocks/authorization-detail","actions":["publish"],"topics":"*"}]""", "topics must be a non-empty array")]
    public async Task Authorization_Details_a_malformed_Mercure_detail_invalidates_the_whole_token(string detailsTemplate, string reason)
    {
        // A good entry first: all or nothing, the token is refused rather than read in part.
        var details = detailsTemplate.StartsWith('[') ? "[" + Good + "," + detailsTemplate[1..] : detailsTemplate;

        var result = await Validate(details);

        Assert.False(result.IsValid);
        Assert.EndsWith(reason, result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Authorization_Details_more_Mercure_details_than_the_cap_invalidate_the_token()
    {
        var atCap = "[" + string.Join(',', Enumerable.Repeat(Good, AuthorizationDetailsReader.MaxDetails)) + "]";
        var overCap = "[" + string.Join(',', Enumerable.Repeat(Good, AuthorizationDetailsReader.MaxDetails + 1)) + "]";

        Assert.True((await Validate(atCap)).IsValid);
        Assert.Equal($"more than {AuthorizationDetailsReader.MaxDetails} Mercure authorization details", (await Validate(overCap)).Error);
    }

    [Fact]
    public async Task Authorization_Details_more_topic_matchers_than_the_cap_invalidate_the_token()
    {
        static string Topics(int count) => "[" + string.Join(',', Enumerable.Range(0, count).Select(i => "{\"match\":\"https://example.com/" + i + "\"}")) + "]";

        // Summed over the details: splitting them over several entries does not get around the cap.
        var half = AuthorizationDetailsReader.MaxTopics / 2;
        var atCap = "[" + Detail("""["publish"]""", Topics(half)) + "," + Detail("""["subscribe"]""", Topics(half)) + "]";
        var overCap = "[" + Detail("""["publish"]""", Topics(half)) + "," + Detail("""["subscribe"]""", Topics(half + 1)) + "]";

        Assert.True((await Validate(atCap)).IsValid);
        Assert.EndsWith($"more than {AuthorizationDetailsReader.MaxTopics} topic matchers", (await Validate(overCap)).Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Authorization_Details_more_urlpattern_matchers_than_the_cap_invalidate_the_token()
    {
        // Needs the URL Pattern engine (Topics/UrlPatterns): the placeholder on this branch refuses every pattern.
        static string Patterns(int count) => "[" + string.Join(',', Enumerable.Range(0, count).Select(i => "{\"match\":\"https://example.com/" + i + "/:id\",\"match_type\":\"urlpattern\"}")) + "]";

        var atCap = await Validate("[" + Detail("""["subscribe"]""", Patterns(AuthorizationDetailsReader.MaxUrlPatterns)) + "]");
        var overCap = await Validate("[" + Detail("""["subscribe"]""", Patterns(AuthorizationDetailsReader.MaxUrlPatterns + 1)) + "]");

        Assert.True(atCap.IsValid, atCap.Error);
        Assert.EndsWith($"more than {AuthorizationDetailsReader.MaxUrlPatterns} urlpattern matchers", overCap.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Authorization_Details_a_match_longer_than_the_selector_limit_invalidates_the_token()
    {
        var limit = new HeraldOptions().MaxSelectorLength;
        var atLimit = "https://example.com/" + new string('a', limit - "https://example.com/".Length);

        Assert.True((await Validate("[" + Detail("""["publish"]""", "[{\"match\":\"" + atLimit + "\"}]") + "]")).IsValid);
        Assert.EndsWith($"match must hold 1 to {limit} characters", (await Validate("[" + Detail("""["publish"]""", "[{\"match\":\"" + atLimit + "a\"}]") + "]")).Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""["bare string"]""", "each topic must be an object with a string match")]
    [InlineData("""[{"match_type":"exact"}]""", "each topic must be an object with a string match")]
    [InlineData("""[{"match":42}]""", "each topic must be an object with a string match")]
    [InlineData("""[{"match":""}]""", "match must hold 1 to 2048 characters")]
    [InlineData("""[{"match":"https://example.com/\u0000"}]""", "match must not contain control or format characters")]
    [InlineData("""[{"match":"https://example.com/\u202e"}]""", "match must not contain control or format characters")]
    [InlineData("""[{"match":"a","match_type":"Exact"}]""", "match_type must be exact or urlpattern")]
    [InlineData("""[{"match":"a","match_type":"URLPattern"}]""", "match_type must be exact or urlpattern")]
    [InlineData("""[{"match":"a","match_type":"uritemplate"}]""", "match_type must be exact or urlpattern")]
    [InlineData("""[{"match":"a","match_type":null}]""", "match_type must be exact or urlpattern")]
    public async Task Topic_Matcher_List_an_entry_that_is_not_a_valid_matcher_invalidates_the_token(string topics, string reason)
    {
        var result = await Validate("[" + Good + "," + Detail("""["subscribe"]""", topics) + "]");

        Assert.False(result.IsValid);
        Assert.EndsWith(reason, result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Topic_Matcher_List_match_type_defaults_to_exact_and_the_wildcard_matches_whatever_the_type()
    {
        var result = await Validate("[" + Detail("""["publish"]""", """[{"match":"https://example.com/{id}"},{"match":"*","match_type":"urlpattern"}]""") + "]");

        Assert.True(result.IsValid, result.Error);
        Assert.Equal([Selector.Exact("https://example.com/{id}"), Selector.UrlPattern("*")], result.Claims!.Publish);
    }

    [Fact]
    public async Task Topic_Matcher_List_a_urlpattern_is_compiled_against_the_hub_url()
    {
        // Needs the URL Pattern engine (Topics/UrlPatterns): the placeholder on this branch refuses every pattern.
        var valid = await Validate("[" + Detail("""["publish"]""", """[{"match":"https://example.com/books/:id","match_type":"urlpattern"},{"match":"/books/:id","match_type":"urlpattern"}]""") + "]");
        var invalid = await Validate("[" + Detail("""["publish"]""", """[{"match":"https://example.com/books/(","match_type":"urlpattern"}]""") + "]");

        Assert.True(valid.IsValid, valid.Error);
        Assert.Equal([Selector.UrlPattern("https://example.com/books/:id"), Selector.UrlPattern("/books/:id")], valid.Claims!.Publish);
        Assert.Contains("invalid urlpattern", invalid.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Payloads_each_subscribe_detail_keeps_its_payload_in_token_order()
    {
        var details = "[" + Detail("""["subscribe"]""", """[{"match":"https://example.com/foo"}]""", """{"custom1":"foo"}""")
            + "," + Detail("""["publish"]""", """[{"match":"https://example.com/p"}]""", """{"ignored":true}""")
            + "," + Detail("""["subscribe"]""", """[{"match":"*"}]""", """{"custom3":{"nested":[1,2]}}""")
            + "," + Detail("""["subscribe"]""", """[{"match":"https://example.com/none"}]""") + "]";

        var claims = (await Validate(details, TokenAudience.Subscriber)).Claims!;

        Assert.Collection(
            claims.SubscribeDetails,
            d => { Assert.Equal([Selector.Exact("https://example.com/foo")], d.Topics); Assert.Equal("""{"custom1":"foo"}""", JsonSerializer.Serialize(d.Payload)); },
            d => { Assert.Equal([Selector.Exact("*")], d.Topics); Assert.Equal("""{"custom3":{"nested":[1,2]}}""", JsonSerializer.Serialize(d.Payload)); },
            d => Assert.Null(d.Payload));
        Assert.Equal(3, claims.Subscribe!.Count);
    }

    [Theory]
    [InlineData("\"a string\"")]
    [InlineData("[1,2]")]
    [InlineData("42")]
    public async Task Payloads_a_payload_that_is_not_a_json_object_invalidates_the_token(string payload)
    {
        var result = await Validate("[" + Detail("""["subscribe"]""", """[{"match":"*"}]""", payload) + "]", TokenAudience.Subscriber);

        Assert.EndsWith("payload must be a JSON object", result.Error, StringComparison.Ordinal);
    }
}
