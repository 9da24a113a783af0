using Herald.Topics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Herald.Security;
using Microsoft.Extensions.DependencyInjection;
using static Herald.Tests.Security.TestTokens;

namespace Herald.Tests.Security;

public sealed class MercureTokenValidatorTests
{
    private static MercureTokenValidator HmacValidator() => Validator(o =>
    {
        o.PublisherJwtKey = PublisherKey;
        o.SubscriberJwtKey = SubscriberKey;
    });

    [Fact]
    public async Task Hs256_publisher_token_is_valid_and_its_claims_are_read()
    {
        var exp = Now + 3600;
        var token = Hs256(PublisherKey, Payload("""{"publish":["https://example.com/books/{id}","*"],"subscribe":["https://example.com/users/1"]}""", exp));

        var result = await HmacValidator().ValidateAsync(token, TokenAudience.Publisher);

        Assert.True(result.IsValid, result.Error);
        Assert.Null(result.Error);
        var claims = result.Claims!;
        Assert.Equal(Selector.Topics(["https://example.com/books/{id}", "*"]), claims.Publish);
        Assert.Equal(Selector.Topics(["https://example.com/users/1"]), claims.Subscribe);
        Assert.Null(claims.Payload);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(exp), claims.Expires);
    }

    [Fact]
    public async Task Subscriber_key_is_separate_from_publisher_key()
    {
        var validator = HmacValidator();
        var publisherToken = Hs256(PublisherKey, Payload("""{"subscribe":["*"]}"""));
        var subscriberToken = Hs256(SubscriberKey, Payload("""{"subscribe":["*"]}"""));

        var asSubscriber = await validator.ValidateAsync(publisherToken, TokenAudience.Subscriber);
        var asPublisher = await validator.ValidateAsync(subscriberToken, TokenAudience.Publisher);

        Assert.Equal("token signature invalid", asSubscriber.Error);
        Assert.Equal("token signature invalid", asPublisher.Error);
        Assert.True((await validator.ValidateAsync(subscriberToken, TokenAudience.Subscriber)).IsValid);
    }

    [Theory]
    [InlineData("""{"alg":"none","typ":"JWT"}""")]
    [InlineData("""{"alg":"None"}""")]
    [InlineData("""{"typ":"JWT"}""")]
    public async Task Alg_none_is_refused(string header)
    {
        var token = Handmade(header, Payload("""{"publish":["*"]}"""), sign: null);

        var result = await HmacValidator().ValidateAsync(token);

        Assert.False(result.IsValid);
        Assert.Equal("unsupported alg none", result.Error);
    }

    [Fact]
    public async Task An_algorithm_other_than_the_configured_one_is_refused_even_with_the_right_key()
    {
        var token = HandmadeHmac("HS512", Encoding.UTF8.GetBytes(PublisherKey), Payload("""{"publish":["*"]}"""));

        var result = await HmacValidator().ValidateAsync(token);

        Assert.Equal("unsupported alg HS512", result.Error);
    }

    [Fact]
    public async Task Hs256_signed_with_the_rsa_public_key_is_refused_when_rs256_is_configured()
    {
        // The classic algorithm confusion: the attacker knows the public key and uses its PEM as an HMAC secret.
        using var rsa = RSA.Create(2048);
        var pem = rsa.ExportSubjectPublicKeyInfoPem();
        var validator = Validator(o =>
        {
            o.PublisherJwtKey = pem;
            o.PublisherJwtAlgorithm = "RS256";
        });
        var token = HandmadeHmac("HS256", Encoding.UTF8.GetBytes(pem), Payload("""{"publish":["*"]}"""));

        var result = await validator.ValidateAsync(token);

        Assert.Equal("unsupported alg HS256", result.Error);
    }

    [Fact]
    public async Task Wrong_key_is_refused()
    {
        var token = Hs256("another-secret-another-secret-another-secret", Payload("""{"publish":["*"]}"""));

        var result = await HmacValidator().ValidateAsync(token);

        Assert.Equal("token signature invalid", result.Error);
    }

    [Fact]
    public async Task Tampered_payload_is_refused()
    {
        var token = Hs256(PublisherKey, Payload("""{"publish":["https://example.com/mine"]}"""));
        var parts = token.Split('.');
        var forged = parts[0] + "." + Encode(Payload("""{"publish":["*"]}""")) + "." + parts[2];

        var result = await HmacValidator().ValidateAsync(forged);

        Assert.Equal("token signature invalid", result.Error);
    }

    [Fact]
    public async Task Expired_token_is_refused()
    {
        // Past the 5-second clock skew, far inside the library's default 5 minutes.
        var token = Hs256(PublisherKey, Payload("""{"publish":["*"]}""", exp: Now - 30));

        var result = await HmacValidator().ValidateAsync(token);

        Assert.Equal("token expired", result.Error);
    }

    [Fact]
    public async Task Token_not_yet_valid_is_refused()
    {
        var token = Hs256(PublisherKey, Payload("""{"publish":["*"]}""", exp: Now + 3600, nbf: Now + 600));

        var result = await HmacValidator().ValidateAsync(token);

        Assert.Equal("token not yet valid", result.Error);
    }

    [Theory]
    [InlineData("")]
    [InlineData("not-a-token")]
    [InlineData("a.b.c")]
    [InlineData("eyJhbGciOiJIUzI1NiJ9.!!!.c2ln")]
    [InlineData("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0")]
    [InlineData("bm90IGpzb24.eyJzdWIiOiJ4In0.c2ln")]
    public async Task Malformed_token_is_refused(string token)
    {
        var result = await HmacValidator().ValidateAsync(token);

        Assert.False(result.IsValid);
        Assert.Equal("malformed token", result.Error);
    }

    [Fact]
    public async Task Token_without_exp_is_accepted()
    {
        var token = Hs256(PublisherKey, Payload("""{"publish":["*"]}"""));

        var result = await HmacValidator().ValidateAsync(token);

        Assert.True(result.IsValid, result.Error);
        Assert.Null(result.Claims!.Expires);
    }

    [Fact]
    public async Task Token_without_mercure_claim_is_valid_with_empty_lists()
    {
        var token = Hs256(PublisherKey, Payload(mercureJson: null));

        var result = await HmacValidator().ValidateAsync(token);

        Assert.True(result.IsValid, result.Error);
        Assert.Empty(result.Claims!.Publish!);
        Assert.Empty(result.Claims.Subscribe!);
        Assert.Null(result.Claims.Payload);
    }

    [Theory]
    [InlineData("""{"publish":"*"}""")]
    [InlineData("""{"subscribe":[1,2]}""")]
    [InlineData("""["*"]""")]
    public async Task Malformed_mercure_claim_is_refused(string mercure)
    {
        var token = Hs256(PublisherKey, Payload(mercure));

        var result = await HmacValidator().ValidateAsync(token);

        Assert.Equal("malformed mercure claim", result.Error);
    }

    [Fact]
    public async Task Payload_claim_is_kept_as_json()
    {
        const string payload = """{"user":"https://example.com/users/1","roles":["admin",7,true,null],"nested":{"a":1.5}}""";
        var token = Hs256(SubscriberKey, Payload("""{"subscribe":["*"],"payload":""" + payload + "}"));

        var result = await HmacValidator().ValidateAsync(token, TokenAudience.Subscriber);

        Assert.True(result.IsValid, result.Error);
        var element = result.Claims!.Payload!.Value;
        Assert.Equal(JsonValueKind.Object, element.ValueKind);
        Assert.Equal(payload, element.GetRawText());
        Assert.Equal("admin", element.GetProperty("roles")[0].GetString());
    }

    [Fact]
    public async Task Scalar_payload_claim_is_kept()
    {
        var token = Hs256(SubscriberKey, Payload("""{"subscribe":["*"],"payload":"just a string"}"""));

        var result = await HmacValidator().ValidateAsync(token, TokenAudience.Subscriber);

        Assert.Equal("just a string", result.Claims!.Payload!.Value.GetString());
    }

    [Fact]
    public async Task Short_hmac_key_is_accepted_as_the_reference_hub_does()
    {
        // "!ChangeMe!" is the Mercure docs' example key: 80 bits, under the library's 256-bit floor.
        const string shortKey = "!ChangeMe!";
        var validator = Validator(o => o.PublisherJwtKey = shortKey);
        var token = HandmadeHmac("HS256", Encoding.UTF8.GetBytes(shortKey), Payload("""{"publish":["*"]}"""));
        var otherShort = HandmadeHmac("HS256", Encoding.UTF8.GetBytes("!ChangeMe"), Payload("""{"publish":["*"]}"""));

        var valid = await validator.ValidateAsync(token);
        var invalid = await validator.ValidateAsync(otherShort);

        Assert.True(valid.IsValid, valid.Error);
        Assert.Equal(Selector.Topics(["*"]), valid.Claims!.Publish);
        Assert.Equal("token signature invalid", invalid.Error);
    }

    [Fact]
    public async Task Rs256_token_is_valid_with_the_pem_public_key_and_refused_with_another()
    {
        using var signer = RSA.Create(2048);
        using var other = RSA.Create(2048);
        var validator = Validator(o =>
        {
            o.PublisherJwtKey = signer.ExportSubjectPublicKeyInfoPem();
            o.PublisherJwtAlgorithm = "RS256";
        });
        var good = Rs256(signer, Payload("""{"publish":["https://example.com/{x}"]}""", exp: Now + 60));
        var bad = Rs256(other, Payload("""{"publish":["*"]}"""));

        var valid = await validator.ValidateAsync(good);
        var invalid = await validator.ValidateAsync(bad);

        Assert.True(valid.IsValid, valid.Error);
        Assert.Equal(Selector.Topics(["https://example.com/{x}"]), valid.Claims!.Publish);
        Assert.Equal("token signature invalid", invalid.Error);
    }

    [Fact]
    public async Task Unknown_kid_without_exp_is_reported_as_a_bad_signature_not_as_expired()
    {
        // Microsoft.IdentityModel answers "expired" here (it reads the missing exp as year 1).
        using var signer = RSA.Create(2048);
        using var other = RSA.Create(2048);
        var validator = Validator(o =>
        {
            o.PublisherJwtKey = signer.ExportSubjectPublicKeyInfoPem();
            o.PublisherJwtAlgorithm = "RS256";
        });

        var result = await validator.ValidateAsync(Rs256(other, Payload("""{"publish":["*"]}"""), kid: "unknown"));

        Assert.Equal("token signature invalid", result.Error);
    }

    [Theory]
    [InlineData("-5", "token expired")]
    [InlineData("1e20", "malformed token")]
    [InlineData("\"tomorrow\"", "malformed token")]
    [InlineData("null", "malformed token")]
    public async Task Odd_exp_values_are_refused_with_a_reason_not_an_exception(string exp, string error)
    {
        var token = Hs256(PublisherKey, "{\"exp\":" + exp + ",\"mercure\":{\"publish\":[\"*\"]}}");

        var result = await HmacValidator().ValidateAsync(token);

        Assert.Equal(error, result.Error);
    }

    [Fact]
    public async Task Rs256_pem_with_escaped_newlines_from_an_environment_variable_is_accepted()
    {
        using var signer = RSA.Create(2048);
        var oneLine = signer.ExportSubjectPublicKeyInfoPem().Replace("\n", "\\n", StringComparison.Ordinal);
        var validator = Validator(o =>
        {
            o.SubscriberJwtKey = oneLine;
            o.SubscriberJwtAlgorithm = "rs256";
        });

        var result = await validator.ValidateAsync(Rs256(signer, Payload("""{"subscribe":["*"]}""")), TokenAudience.Subscriber);

        Assert.True(result.IsValid, result.Error);
    }

    [Fact]
    public void Bad_configuration_fails_at_construction_with_the_setting_named()
    {
        var badPem = Assert.Throws<InvalidOperationException>(() => Validator(o =>
        {
            o.PublisherJwtKey = "not a pem";
            o.PublisherJwtAlgorithm = "RS256";
        }));
        var badAlg = Assert.Throws<InvalidOperationException>(() => Validator(o =>
        {
            o.SubscriberJwtKey = SubscriberKey;
            o.SubscriberJwtAlgorithm = "HS512";
        }));
        var badUrl = Assert.Throws<InvalidOperationException>(() => Validator(o => o.PublisherJwksUrl = "/relative/jwks.json"));

        Assert.Contains("PublisherJwtKey", badPem.Message, StringComparison.Ordinal);
        Assert.Contains("SubscriberJwtAlgorithm", badAlg.Message, StringComparison.Ordinal);
        Assert.Contains("PublisherJwksUrl", badUrl.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Audience_without_key_is_not_configured_and_refuses_tokens()
    {
        var validator = Validator(o => o.PublisherJwtKey = PublisherKey);

        var result = await validator.ValidateAsync(Hs256(PublisherKey, Payload()), TokenAudience.Subscriber);

        Assert.True(validator.IsConfigured(TokenAudience.Publisher));
        Assert.False(validator.IsConfigured(TokenAudience.Subscriber));
        Assert.Equal("no key configured", result.Error);
    }

    [Fact]
    public void Jwks_url_alone_counts_as_configured()
    {
        var validator = Validator(o => o.SubscriberJwksUrl = "https://id.example.com/.well-known/jwks.json");

        Assert.True(validator.IsConfigured(TokenAudience.Subscriber));
        Assert.False(validator.IsConfigured(TokenAudience.Publisher));
    }

    [Fact]
    public async Task Dependency_injection_builds_the_validator_with_or_without_an_http_client_factory()
    {
        foreach (var withFactory in new[] { false, true })
        {
            var services = new ServiceCollection();
            services.AddLogging();
            services.Configure<HeraldOptions>(o => o.PublisherJwtKey = PublisherKey);
            if (withFactory)
            {
                services.AddHttpClient();
            }

            services.AddSingleton<MercureTokenValidator>();
            await using var provider = services.BuildServiceProvider();

            var validator = provider.GetRequiredService<MercureTokenValidator>();
            var result = await validator.ValidateAsync(Hs256(PublisherKey, Payload("""{"publish":["*"]}""")));

            Assert.True(result.IsValid, result.Error);
        }
    }
}
