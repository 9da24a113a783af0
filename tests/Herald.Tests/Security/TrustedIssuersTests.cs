using Herald.Security;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using static Herald.Tests.Security.AccessTokens;
using static Herald.Tests.Security.TestTokens;

namespace Herald.Tests.Security;

/// <summary>
/// Mercure 1.0, "Token Validation": each trusted key is associated in the configuration with its issuer. How Herald's
/// settings say so (Herald:Issuer for the hub-wide keys, Herald:Issuers:N for more), and what it says at startup.
/// </summary>
public sealed class TrustedIssuersTests
{
    private static (MercureTokenValidator Validator, RecordingLogger Log) Build(HeraldOptions options)
    {
        var log = new RecordingLogger();
        return (new MercureTokenValidator(Options.Create(options), null, log, TimeProvider.System), log);
    }

    [Fact]
    public async Task Token_Validation_issuers_bind_from_configuration_with_their_own_keys()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Herald:Issuer"] = Issuer,
            ["Herald:PublisherJwtKey"] = PublisherKey,
            ["Herald:Issuers:0:Id"] = OtherIssuer,
            ["Herald:Issuers:0:Publisher:JwtKey"] = OtherIssuerKey,
            ["Herald:Protocol"] = "1",
        }).Build();
        var options = new HeraldOptions();
        configuration.GetSection(HeraldOptions.SectionName).Bind(options);

        var (validator, _) = Build(options);

        Assert.Equal(MercureProtocol.V1, options.Protocol);
        Assert.True((await validator.ValidateAsync(AccessTokens.Hs256(PublisherKey, Claims(iss: Issuer)))).IsValid);
        Assert.True((await validator.ValidateAsync(AccessTokens.Hs256(OtherIssuerKey, Claims(iss: OtherIssuer)))).IsValid);
    }

    [Fact]
    public void Token_Validation_without_a_trusted_issuer_the_hub_says_at_startup_what_to_set()
    {
        var (_, log) = Build(new HeraldOptions { PublisherJwtKey = PublisherKey });

        var entry = Assert.Single(log.Entries);
        Assert.Equal(505, entry.Id.Id);
        Assert.Contains("Herald:Issuer (herald serve --issuer ID)", entry.Message, StringComparison.Ordinal);
        Assert.Contains("Herald:Issuers:N:Id, Herald:Issuers:N:Publisher:JwtKey", entry.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Token_Validation_a_hub_with_an_issuer_or_without_any_key_logs_nothing()
    {
        Assert.Empty(Build(new HeraldOptions { PublisherJwtKey = PublisherKey, Issuer = Issuer }).Log.Entries);
        Assert.Empty(Build(new HeraldOptions()).Log.Entries);
    }

    [Fact]
    public void Token_Validation_in_V1_hub_wide_keys_without_an_issuer_are_reported_unused()
    {
        var options = new HeraldOptions { PublisherJwtKey = PublisherKey, Protocol = MercureProtocol.V1 };
        options.Issuers.Add(new TrustedIssuer { Id = OtherIssuer, Publisher = { JwtKey = OtherIssuerKey } });

        var entry = Assert.Single(Build(options).Log.Entries);

        Assert.Equal(506, entry.Id.Id);
    }

    [Fact]
    public async Task Token_Validation_in_V1_a_0x_token_is_refused_and_in_compatible_mode_accepted()
    {
        var legacy = TestTokens.Hs256(PublisherKey, Payload("""{"publish":["*"]}"""));

        var compatible = await IssuerValidator(MercureProtocol.Compatible).ValidateAsync(legacy);
        var v1 = await IssuerValidator(MercureProtocol.V1).ValidateAsync(legacy);

        Assert.True(compatible.IsValid, compatible.Error);
        Assert.Equal(TokenGeneration.Legacy, compatible.Claims!.Generation);
        Assert.Equal("token typ must be at+jwt", v1.Error);
    }

    [Fact]
    public async Task Token_Validation_in_compatible_mode_a_token_with_authorization_details_follows_the_1_0_rules()
    {
        // No typ, no aud, no exp: fine for a 0.x token, but authorization_details makes it a 1.0 one.
        var token = TestTokens.Hs256(PublisherKey, """{"iss":"https://issuer.example.com","mercure":{"publish":["*"]},"authorization_details":[]}""");

        var result = await IssuerValidator().ValidateAsync(token);

        Assert.Equal("token typ must be at+jwt", result.Error);
    }

    [Fact]
    public async Task Token_Validation_0x_tokens_are_verified_only_with_the_hub_wide_keys()
    {
        var validator = IssuerValidator(more: o => o.Issuers.Add(new TrustedIssuer { Id = OtherIssuer, Publisher = { JwtKey = OtherIssuerKey } }));

        var result = await validator.ValidateAsync(TestTokens.Hs256(OtherIssuerKey, Payload("""{"publish":["*"]}""")));

        Assert.Equal("token signature invalid", result.Error);
    }

    [Theory]
    [InlineData("", "Herald:Issuers:0:Id must name the issuer")]
    [InlineData("  ", "Herald:Issuers:0:Id must name the issuer")]
    public void Token_Validation_an_issuer_without_an_id_fails_at_startup(string id, string message)
    {
        var options = new HeraldOptions();
        options.Issuers.Add(new TrustedIssuer { Id = id, Publisher = { JwtKey = PublisherKey } });

        var error = Assert.Throws<InvalidOperationException>(() => Build(options));

        Assert.StartsWith(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Token_Validation_misconfigured_issuers_fail_at_startup_naming_the_setting()
    {
        var noKey = new HeraldOptions();
        noKey.Issuers.Add(new TrustedIssuer { Id = OtherIssuer });
        var twice = new HeraldOptions { Issuer = Issuer, PublisherJwtKey = PublisherKey };
        twice.Issuers.Add(new TrustedIssuer { Id = Issuer, Publisher = { JwtKey = OtherIssuerKey } });
        var badAlgorithm = new HeraldOptions();
        badAlgorithm.Issuers.Add(new TrustedIssuer { Id = OtherIssuer, Subscriber = { JwtKey = OtherIssuerKey, JwtAlgorithm = "HS512" } });

        Assert.Contains("issuer 'https://other-issuer.example.com' has no key", Assert.Throws<InvalidOperationException>(() => Build(noKey)).Message, StringComparison.Ordinal);
        Assert.Contains("is trusted twice", Assert.Throws<InvalidOperationException>(() => Build(twice)).Message, StringComparison.Ordinal);
        Assert.StartsWith("Herald:Issuers:0:Subscriber:JwtAlgorithm must be HS256, RS256 or ES256", Assert.Throws<InvalidOperationException>(() => Build(badAlgorithm)).Message, StringComparison.Ordinal);
        Assert.StartsWith("Herald:Issuer names the issuer of the hub's keys, but no key is set", Assert.Throws<InvalidOperationException>(() => Build(new HeraldOptions { Issuer = Issuer })).Message, StringComparison.Ordinal);
    }
}
