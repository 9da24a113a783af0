using Herald.Topics;
using Herald.Security;
using Microsoft.Extensions.Options;

namespace Herald.Tests.Security;

/// <summary>Validated tokens are remembered per audience; the cache never widens what a token may do.</summary>
public sealed class TokenCacheTests
{
    private const string Key = "cache-test-key-0123456789-0123456789-0123";

    [Fact]
    public async Task A_valid_token_for_one_audience_is_not_cached_for_the_other()
    {
        var options = Options.Create(new HeraldOptions { PublisherJwtKey = Key, SubscriberJwtKey = "another-subscriber-key-0123456789-0123" });
        var validator = new MercureTokenValidator(options);
        var token = TokenIssuer.Create(Key, ["*"], ["*"], TimeSpan.FromHours(1));

        Assert.True((await validator.ValidateAsync(token, TokenAudience.Publisher, TestTokens.HubUrl, CancellationToken.None)).IsValid);
        Assert.False((await validator.ValidateAsync(token, TokenAudience.Subscriber, TestTokens.HubUrl, CancellationToken.None)).IsValid);
    }

    [Fact]
    public async Task A_cached_token_gives_the_same_claims_and_a_tampered_copy_is_still_refused()
    {
        var validator = new MercureTokenValidator(Options.Create(new HeraldOptions { PublisherJwtKey = Key }));
        var token = TokenIssuer.Create(Key, ["https://example.com/a"], null, TimeSpan.FromHours(1));

        var first = await validator.ValidateAsync(token, TokenAudience.Publisher, TestTokens.HubUrl, CancellationToken.None);
        var second = await validator.ValidateAsync(token, TokenAudience.Publisher, TestTokens.HubUrl, CancellationToken.None);
        var tampered = await validator.ValidateAsync(token[..^2] + (token[^2] == 'A' ? "BB" : "AA"), TokenAudience.Publisher, TestTokens.HubUrl, CancellationToken.None);

        Assert.Equal(Selector.Topics(["https://example.com/a"]), first.Claims!.Publish);
        Assert.Same(first.Claims, second.Claims);
        Assert.False(tampered.IsValid);
    }

    [Fact]
    public async Task Tokens_taking_turns_each_keep_their_own_claims()
    {
        var validator = new MercureTokenValidator(Options.Create(new HeraldOptions { PublisherJwtKey = Key, SubscriberJwtKey = Key }));
        var a = TokenIssuer.Create(Key, ["https://example.com/a"], null, TimeSpan.FromHours(1));
        var b = TokenIssuer.Create(Key, ["https://example.com/b"], ["https://example.com/s"], TimeSpan.FromHours(1));

        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(Selector.Topics(["https://example.com/a"]), (await validator.ValidateAsync(a, TokenAudience.Publisher, TestTokens.HubUrl, CancellationToken.None)).Claims!.Publish);
            Assert.Equal(Selector.Topics(["https://example.com/b"]), (await validator.ValidateAsync(b, TokenAudience.Publisher, TestTokens.HubUrl, CancellationToken.None)).Claims!.Publish);
            Assert.Equal(Selector.Topics(["https://example.com/s"]), (await validator.ValidateAsync(b, TokenAudience.Subscriber, TestTokens.HubUrl, CancellationToken.None)).Claims!.Subscribe);
            Assert.False((await validator.ValidateAsync(a + "x", TokenAudience.Publisher, TestTokens.HubUrl, CancellationToken.None)).IsValid);
        }
    }

    [Fact]
    public async Task A_0x_token_is_cached_once_whatever_the_hub_url_and_a_1_0_token_per_hub_url()
    {
        var validator = AccessTokens.IssuerValidator();
        var legacy = TokenIssuer.Create(TestTokens.PublisherKey, ["*"], null, TimeSpan.FromHours(1));
        var v1 = AccessTokens.Publisher();

        var legacyHere = await validator.ValidateAsync(legacy, TokenAudience.Publisher, TestTokens.HubUrl, CancellationToken.None);
        var legacyThere = await validator.ValidateAsync(legacy, TokenAudience.Publisher, "https://another-name.example.com/.well-known/mercure", CancellationToken.None);
        var v1Here = await validator.ValidateAsync(v1, TokenAudience.Publisher, TestTokens.HubUrl, CancellationToken.None);
        var v1There = await validator.ValidateAsync(v1, TokenAudience.Publisher, "https://another-name.example.com/.well-known/mercure", CancellationToken.None);

        Assert.Same(legacyHere.Claims, legacyThere.Claims);
        Assert.True(v1Here.IsValid, v1Here.Error);
        Assert.False(v1There.IsValid);
    }
}
