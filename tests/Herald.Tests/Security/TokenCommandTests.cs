using System.CommandLine;
using System.Text;
using System.Text.Json;
using Herald.Cli.Commands;
using Herald.Security;
using Herald.Topics;
using Microsoft.IdentityModel.Tokens;
using static Herald.Tests.Security.TestTokens;

namespace Herald.Tests.Security;

/// <summary>
/// <c>herald token</c> mints Mercure 1.0 access tokens by default (<c>--legacy</c>: 0.x), and <c>herald serve</c>'s
/// startup token suits the way the hub is configured.
/// </summary>
public sealed class TokenCommandTests
{
    private const string Issuer = AccessTokens.Issuer;

    private static (int Exit, string Out, string Err) Run(params string[] args)
    {
        var root = new RootCommand { TokenCommand.Create() };
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exit = root.Parse(["token", .. args]).Invoke(new InvocationConfiguration { Output = output, Error = error });
        return (exit, output.ToString().Trim(), error.ToString().Trim());
    }

    private static JsonElement Part(string token, int index)
        => JsonDocument.Parse(Encoding.UTF8.GetString(Base64UrlEncoder.DecodeBytes(token.Split('.')[index]))).RootElement;

    [Fact]
    public async Task Herald_token_mints_an_RFC_9068_access_token_with_authorization_details_by_default()
    {
        var (exit, token, error) = Run(
            "--key", PublisherKey, "--issuer", Issuer, "--audience", HubUrl, "--ttl", "15m",
            "--publish", "https://example.com/a", "--subscribe", "*", "--subscribe-urlpattern", "https://example.com/books/:id",
            "--payload", """{"user":"alice"}""", "--subject", "urn:uuid:1");

        Assert.Equal((0, string.Empty), (exit, error));
        Assert.Equal("at+jwt", Part(token, 0).GetProperty("typ").GetString());
        var claims = Part(token, 1);
        Assert.Equal(Issuer, claims.GetProperty("iss").GetString());
        Assert.Equal(HubUrl, claims.GetProperty("aud").GetString());
        Assert.Equal("urn:uuid:1", claims.GetProperty("sub").GetString());
        Assert.Equal(Issuer, claims.GetProperty("client_id").GetString());
        Assert.StartsWith("urn:uuid:", claims.GetProperty("jti").GetString(), StringComparison.Ordinal);
        Assert.Equal(15 * 60, claims.GetProperty("exp").GetInt64() - claims.GetProperty("iat").GetInt64());
        Assert.Equal(
            """[{"type":"https://mercure.rocks/authorization-detail","actions":["publish"],"topics":[{"match":"https://example.com/a"}]},"""
            + """{"type":"https://mercure.rocks/authorization-detail","actions":["subscribe"],"topics":[{"match":"*"},{"match":"https://example.com/books/:id","match_type":"urlpattern"}],"payload":{"user":"alice"}}]""",
            claims.GetProperty("authorization_details").GetRawText());

        // What the hub makes of it (exact grants only: URL patterns need the engine).
        var (_, exact, _) = Run("--key", PublisherKey, "--iss", Issuer, "--aud", HubUrl, "--publish", "https://example.com/a");
        var result = await AccessTokens.IssuerValidator().ValidateAsync(exact);
        Assert.True(result.IsValid, result.Error);
        Assert.Equal([Selector.Exact("https://example.com/a")], result.Claims!.Publish);
    }

    [Fact]
    public void Herald_token_with_several_audiences_writes_an_aud_array()
    {
        var (_, token, _) = Run("--key", PublisherKey, "--issuer", Issuer, "--audience", HubUrl, "--audience", "https://other.example.com/.well-known/mercure", "--publish", "*");

        Assert.Equal($"[\"{HubUrl}\",\"https://other.example.com/.well-known/mercure\"]", Part(token, 1).GetProperty("aud").GetRawText());
    }

    [Theory]
    [InlineData(new[] { "--publish", "*" }, "herald: token: a Mercure 1.0 token names its issuer and hub")]
    [InlineData(new[] { "--publish", "*", "--issuer", Issuer }, "herald: token: a Mercure 1.0 token names its issuer and hub")]
    [InlineData(new[] { "--publish", "*", "--issuer", Issuer, "--audience", HubUrl, "--ttl", "never" }, "herald: token: a Mercure 1.0 token must expire")]
    [InlineData(new[] { "--subscribe", "*", "--issuer", Issuer, "--audience", HubUrl, "--payload", "[1]" }, "herald: token: --payload must be a JSON object")]
    [InlineData(new[] { "--publish-urlpattern", "/books/:id", "--legacy" }, "herald: token: --legacy tokens have no URL patterns")]
    public void Herald_token_says_what_is_missing_in_one_line(string[] args, string error)
    {
        var (exit, output, stderr) = Run(["--key", PublisherKey, .. args]);

        Assert.Equal((1, string.Empty), (exit, output));
        Assert.StartsWith(error, stderr, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', stderr);
    }

    [Fact]
    public async Task Herald_token_legacy_mints_the_0x_mercure_claim()
    {
        var (exit, token, _) = Run("--key", PublisherKey, "--legacy", "--publish", "https://example.com/books/{id}", "--ttl", "never");

        Assert.Equal(0, exit);
        Assert.False(Part(token, 1).TryGetProperty("exp", out _));
        var result = await Validator(o => o.PublisherJwtKey = PublisherKey).ValidateAsync(token);
        Assert.Equal((TokenGeneration.Legacy, Selector.Topic("https://example.com/books/{id}")), (result.Claims!.Generation, Assert.Single(result.Claims.Publish!)));
    }

    [Fact]
    public async Task Herald_serve_prints_a_1_0_token_when_an_issuer_owns_the_generated_key()
    {
        var options = new HeraldOptions { Issuer = Issuer, PublisherJwtKey = PublisherKey, SubscriberJwtKey = PublisherKey };

        var token = ServeCommand.StartupToken(PublisherKey, options, ["http://127.0.0.1:5080"])!;
        var validator = Validator(o => { o.Issuer = Issuer; o.PublisherJwtKey = PublisherKey; o.SubscriberJwtKey = PublisherKey; });

        Assert.True((await validator.ValidateAsync(token, TokenAudience.Publisher, "http://127.0.0.1:5080/.well-known/mercure")).IsValid);
        Assert.True((await validator.ValidateAsync(token, TokenAudience.Subscriber, "http://localhost:5080/.well-known/mercure")).IsValid);
    }

    [Fact]
    public async Task Herald_serve_prints_a_token_for_the_resource_identifier_a_0x_token_without_issuer_and_none_for_V1_without_one()
    {
        var pinned = new HeraldOptions { Issuer = Issuer, ResourceIdentifier = HubUrl };

        var forResource = ServeCommand.StartupToken(PublisherKey, pinned, ["http://127.0.0.1:5080"])!;
        var legacy = ServeCommand.StartupToken(PublisherKey, new HeraldOptions(), ["http://127.0.0.1:5080"])!;

        Assert.True((await AccessTokens.IssuerValidator().ValidateAsync(forResource)).IsValid);
        Assert.Equal("JWT", Part(legacy, 0).GetProperty("typ").GetString());
        Assert.Null(ServeCommand.StartupToken(PublisherKey, new HeraldOptions { Protocol = MercureProtocol.V1 }, ["http://127.0.0.1:5080"]));
    }

    [Theory]
    [InlineData("0", "Compatible")]
    [InlineData("1", "V1")]
    [InlineData("2", null)]
    [InlineData("v1", null)]
    public void Herald_serve_protocol_takes_0_or_1(string value, string? setting)
    {
        Assert.Equal(setting, ServeCommand.ProtocolSetting(value));
    }
}
