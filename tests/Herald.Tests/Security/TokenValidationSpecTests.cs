using System.Security.Cryptography;
using System.Text;
using Herald.Security;
using Herald.Topics;
using Microsoft.IdentityModel.Tokens;
using static Herald.Tests.Security.AccessTokens;
using static Herald.Tests.Security.TestTokens;

namespace Herald.Tests.Security;

/// <summary>Mercure 1.0, "Token Validation" (and "Security Considerations > Token Validation"): RFC 9068 access tokens.</summary>
public sealed class TokenValidationSpecTests
{
    [Fact]
    public async Task Token_Validation_an_access_token_of_a_trusted_issuer_for_this_hub_is_valid()
    {
        var exp = Now + 600;
        var token = AccessTokens.Hs256(PublisherKey, Claims(exp: exp));

        var result = await IssuerValidator().ValidateAsync(token, TokenAudience.Publisher);

        Assert.True(result.IsValid, result.Error);
        Assert.Contains("\"typ\":\"at+jwt\"", DecodedHeader(token), StringComparison.Ordinal);
        Assert.Equal(TokenGeneration.V1, result.Claims!.Generation);
        Assert.Equal([Selector.Exact("*")], result.Claims.Publish);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(exp), result.Claims.Expires);
    }

    [Theory]
    [InlineData("at+jwt")]
    [InlineData("AT+JWT")]
    [InlineData("application/at+jwt")]
    [InlineData("Application/At+Jwt")]
    public async Task Token_Validation_typ_at_jwt_is_compared_without_the_application_prefix_and_ignoring_case(string typ)
    {
        var result = await IssuerValidator().ValidateAsync(AccessTokens.Hs256(PublisherKey, Claims(), typ));

        Assert.True(result.IsValid, result.Error);
    }

    [Theory]
    [InlineData("JWT")]
    [InlineData("application/jwt")]
    [InlineData("at+jwt; charset=utf-8")]
    [InlineData("text/at+jwt")]
    [InlineData(null)]
    public async Task Token_Validation_a_typ_other_than_at_jwt_is_refused(string? typ)
    {
        // An ID Token of the same authorization server is typ JWT: it must never pass for an access token.
        var result = await IssuerValidator().ValidateAsync(AccessTokens.Hs256(PublisherKey, Claims(), typ));

        Assert.Equal("token typ must be at+jwt", result.Error);
    }

    [Theory]
    [InlineData("""{"alg":"none","typ":"at+jwt"}""")]
    [InlineData("""{"alg":"None","typ":"at+jwt"}""")]
    [InlineData("""{"typ":"at+jwt"}""")]
    public async Task Token_Validation_alg_none_is_refused(string header)
    {
        var result = await IssuerValidator().ValidateAsync(Handmade(header, Claims(), sign: null));

        Assert.Equal("unsupported alg none", result.Error);
    }

    [Fact]
    public async Task Token_Validation_an_alg_off_the_allow_list_is_refused_even_with_the_right_key()
    {
        // The allow-list is the issuer key's configured algorithm: the token's own header never widens it.
        var token = Handmade("""{"alg":"HS512","typ":"at+jwt"}""", Claims(), input => HMACSHA512.HashData(Encoding.UTF8.GetBytes(PublisherKey), input));

        var result = await IssuerValidator().ValidateAsync(token);

        Assert.Equal("unsupported alg HS512", result.Error);
    }

    [Fact]
    public async Task Token_Validation_alg_confusion_hs256_keyed_with_the_issuers_rsa_public_key_is_refused()
    {
        using var rsa = RSA.Create(2048);
        var pem = rsa.ExportSubjectPublicKeyInfoPem();
        var validator = Validator(o =>
        {
            o.Issuer = Issuer;
            o.PublisherJwtKey = pem;
            o.PublisherJwtAlgorithm = "RS256";
        });
        var token = Handmade("""{"alg":"HS256","typ":"at+jwt"}""", Claims(), input => HMACSHA256.HashData(Encoding.UTF8.GetBytes(pem), input));

        Assert.Equal("unsupported alg HS256", (await validator.ValidateAsync(token)).Error);
        Assert.True((await validator.ValidateAsync(AccessTokens.Rs256(rsa, Claims()))).IsValid);
    }

    [Fact]
    public async Task Token_Validation_rs256_and_es256_issuer_keys_verify_their_tokens()
    {
        using var rsa = RSA.Create(2048);
        using var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var validator = Validator(o => o.Issuers.Add(new TrustedIssuer
        {
            Id = Issuer,
            Publisher = { JwtKey = rsa.ExportSubjectPublicKeyInfoPem(), JwtAlgorithm = "RS256" },
            Subscriber = { JwtKey = ec.ExportSubjectPublicKeyInfoPem(), JwtAlgorithm = "ES256" },
        }));

        var publisher = await validator.ValidateAsync(AccessTokens.Rs256(rsa, Claims()), TokenAudience.Publisher);
        var subscriber = await validator.ValidateAsync(AccessTokens.Es256(ec, Claims()), TokenAudience.Subscriber);
        var esAsPublisher = await validator.ValidateAsync(AccessTokens.Es256(ec, Claims()), TokenAudience.Publisher);

        Assert.True(publisher.IsValid, publisher.Error);
        Assert.True(subscriber.IsValid, subscriber.Error);
        Assert.Equal("unsupported alg ES256", esAsPublisher.Error);
    }

    [Fact]
    public async Task Token_Validation_key_material_in_the_token_header_is_never_used()
    {
        // The attacker signs with its own key and hands it over in the header (jwk): only configured keys verify.
        using var trusted = RSA.Create(2048);
        using var attacker = RSA.Create(2048);
        var validator = Validator(o => o.Issuers.Add(new TrustedIssuer { Id = Issuer, Publisher = { JwtKey = trusted.ExportSubjectPublicKeyInfoPem(), JwtAlgorithm = "RS256" } }));
        var jwk = JsonWebKeyConverter.ConvertFromRSASecurityKey(new RsaSecurityKey(attacker.ExportParameters(false)));
        var header = new Dictionary<string, object>
        {
            ["jwk"] = new Dictionary<string, object> { ["kty"] = "RSA", ["n"] = jwk.N, ["e"] = jwk.E },
            ["jku"] = "https://attacker.example/jwks.json",
        };

        var result = await validator.ValidateAsync(AccessTokens.Rs256(attacker, Claims(), header: header));

        Assert.Equal("token signature invalid", result.Error);
    }

    [Fact]
    public async Task Token_Validation_a_token_without_exp_is_refused()
    {
        var result = await IssuerValidator().ValidateAsync(AccessTokens.Hs256(PublisherKey, Claims(exp: null)));

        Assert.Equal("token has no exp", result.Error);
    }

    [Fact]
    public async Task Token_Validation_an_expired_token_is_refused()
    {
        var result = await IssuerValidator().ValidateAsync(AccessTokens.Hs256(PublisherKey, Claims(exp: Now - 60)));

        Assert.Equal("token expired", result.Error);
    }

    [Fact]
    public async Task Token_Validation_nbf_in_the_future_is_refused()
    {
        var result = await IssuerValidator().ValidateAsync(AccessTokens.Hs256(PublisherKey, Claims(nbf: Now + 600)));
        var started = await IssuerValidator().ValidateAsync(AccessTokens.Hs256(PublisherKey, Claims(nbf: Now - 60)));

        Assert.Equal("token not yet valid", result.Error);
        Assert.True(started.IsValid, started.Error);
    }

    [Theory]
    [InlineData(null, "token has no iss")]
    [InlineData("https://unknown.example.com", "token iss is not a trusted issuer")]
    [InlineData("https://ISSUER.example.com", "token iss is not a trusted issuer")]
    [InlineData("https://issuer.example.com/", "token iss is not a trusted issuer")]
    public async Task Token_Validation_iss_must_exactly_name_a_trusted_issuer(string? iss, string error)
    {
        var result = await IssuerValidator().ValidateAsync(AccessTokens.Hs256(PublisherKey, Claims(iss: iss)));

        Assert.Equal(error, result.Error);
    }

    [Fact]
    public async Task Token_Validation_a_key_of_another_trusted_issuer_does_not_verify_the_token()
    {
        var validator = IssuerValidator(more: o => o.Issuers.Add(new TrustedIssuer { Id = OtherIssuer, Publisher = { JwtKey = OtherIssuerKey } }));

        // Signed by the other issuer's key but claiming to be the first: refused, never tried against a pool of keys.
        var impersonating = await validator.ValidateAsync(AccessTokens.Hs256(OtherIssuerKey, Claims(iss: Issuer)));
        var own = await validator.ValidateAsync(AccessTokens.Hs256(OtherIssuerKey, Claims(iss: OtherIssuer)));
        var first = await validator.ValidateAsync(AccessTokens.Hs256(PublisherKey, Claims(iss: Issuer)));
        var firstKeyAsOther = await validator.ValidateAsync(AccessTokens.Hs256(PublisherKey, Claims(iss: OtherIssuer)));

        Assert.Equal("token signature invalid", impersonating.Error);
        Assert.True(own.IsValid, own.Error);
        Assert.True(first.IsValid, first.Error);
        Assert.Equal("token signature invalid", firstKeyAsOther.Error);
    }

    [Fact]
    public async Task Token_Validation_an_issuers_publisher_and_subscriber_keys_are_separate()
    {
        var validator = IssuerValidator(more: o => o.Issuers.Add(new TrustedIssuer { Id = OtherIssuer, Subscriber = { JwtKey = OtherIssuerKey } }));

        var publisherKeyAsSubscriber = await validator.ValidateAsync(AccessTokens.Hs256(PublisherKey, Claims()), TokenAudience.Subscriber);
        var noPublisherKey = await validator.ValidateAsync(AccessTokens.Hs256(OtherIssuerKey, Claims(iss: OtherIssuer)), TokenAudience.Publisher);

        Assert.Equal("token signature invalid", publisherKeyAsSubscriber.Error);
        Assert.Equal("token iss has no key for publishers", noPublisherKey.Error);
    }

    [Theory]
    [InlineData("\"" + HubUrl + "\"", true)]
    [InlineData("[\"https://elsewhere.example.com\",\"" + HubUrl + "\"]", true)]
    [InlineData("\"https://other-hub.example.com/.well-known/mercure\"", false)]
    [InlineData("\"" + HubUrl + "/\"", false)]
    [InlineData("\"HTTPS://HUB.EXAMPLE.COM/.well-known/mercure\"", false)]
    [InlineData("[\"https://elsewhere.example.com\"]", false)]
    [InlineData("[]", false)]
    [InlineData(null, false)]
    public async Task Token_Validation_aud_must_contain_the_hubs_resource_identifier(string? aud, bool valid)
    {
        var result = await IssuerValidator().ValidateAsync(AccessTokens.Hs256(PublisherKey, Claims(aud: aud)));

        Assert.Equal(valid ? null : "token aud does not name this hub", result.Error);
    }

    [Fact]
    public async Task Token_Validation_an_aud_that_is_neither_a_string_nor_an_array_is_refused()
    {
        // The token library refuses to read such a token at all.
        var result = await IssuerValidator().ValidateAsync(AccessTokens.Hs256(PublisherKey, Claims(aud: "42")));

        Assert.Equal("malformed token", result.Error);
    }

    [Fact]
    public async Task Token_Validation_a_token_validated_for_one_hub_url_is_not_valid_for_another_from_the_cache()
    {
        var validator = IssuerValidator();
        var token = AccessTokens.Hs256(PublisherKey, Claims());

        Assert.True((await validator.ValidateAsync(token, TokenAudience.Publisher, HubUrl)).IsValid);
        var elsewhere = await validator.ValidateAsync(token, TokenAudience.Publisher, "https://other-hub.example.com/.well-known/mercure");

        Assert.Equal("token aud does not name this hub", elsewhere.Error);
    }

    [Fact]
    public async Task Token_Validation_without_a_trusted_issuer_every_access_token_is_refused()
    {
        var validator = Validator(o => o.PublisherJwtKey = PublisherKey);

        var result = await validator.ValidateAsync(AccessTokens.Hs256(PublisherKey, Claims()));

        Assert.Equal("token iss is not a trusted issuer", result.Error);
    }
}
