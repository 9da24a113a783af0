using Herald.Topics;
using System.Buffers.Text;
using System.Security.Cryptography;
using Herald.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using static Herald.Tests.Security.TestTokens;

namespace Herald.Tests.Security;

/// <summary>Keys fetched from a JWKS document served by a real Kestrel on 127.0.0.1.</summary>
public sealed class JwksTests : IAsyncLifetime
{
    private readonly RSA _keyA = RSA.Create(2048);
    private readonly RSA _keyB = RSA.Create(2048);
    private readonly ECDsa _ecKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private readonly ManualTimeProvider _time = new(new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero));
    private JwksServer _server = null!;

    public async Task InitializeAsync() => _server = await JwksServer.StartAsync(JwksDocument(Rsa("a", _keyA)));

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _keyA.Dispose();
        _keyB.Dispose();
        _ecKey.Dispose();
    }

    private MercureTokenValidator JwksValidator() => Validator(o => o.SubscriberJwksUrl = _server.JwksUrl, _time);

    [Fact]
    public async Task Token_signed_with_a_jwks_key_is_valid_and_keys_are_cached()
    {
        var validator = JwksValidator();
        var token = Rs256(_keyA, Payload("""{"subscribe":["https://example.com/{id}"]}"""), kid: "a");

        var first = await validator.ValidateAsync(token, TokenAudience.Subscriber);
        var second = await validator.ValidateAsync(token, TokenAudience.Subscriber);

        Assert.True(first.IsValid, first.Error);
        Assert.Equal(Selector.Topics(["https://example.com/{id}"]), first.Claims!.Subscribe);
        Assert.True(second.IsValid, second.Error);
        Assert.Equal(1, _server.Requests);
    }

    [Fact]
    public async Task Token_Validation_an_issuers_jwks_verifies_its_access_tokens_and_no_other_issuers()
    {
        var validator = Validator(
            o =>
            {
                o.Issuers.Add(new TrustedIssuer { Id = AccessTokens.Issuer, Subscriber = { JwksUrl = _server.JwksUrl } });
                o.Issuers.Add(new TrustedIssuer { Id = AccessTokens.OtherIssuer, Subscriber = { JwtKey = AccessTokens.OtherIssuerKey } });
            },
            _time);
        var exp = _time.GetUtcNow().ToUnixTimeSeconds() + 3600;
        var own = await validator.ValidateAsync(AccessTokens.Rs256(_keyA, AccessTokens.Claims(exp: exp), kid: "a"), TokenAudience.Subscriber);
        var other = await validator.ValidateAsync(AccessTokens.Rs256(_keyA, AccessTokens.Claims(iss: AccessTokens.OtherIssuer, exp: exp), kid: "a"), TokenAudience.Subscriber);

        Assert.True(own.IsValid, own.Error);
        Assert.Equal(TokenGeneration.V1, own.Claims!.Generation);
        Assert.Equal("unsupported alg RS256", other.Error);
    }

    [Fact]
    public async Task Keys_are_fetched_again_after_an_hour()
    {
        var validator = JwksValidator();
        var token = Rs256(_keyA, Payload("""{"subscribe":["*"]}"""), kid: "a");
        Assert.True((await validator.ValidateAsync(token, TokenAudience.Subscriber)).IsValid);

        _time.Advance(TimeSpan.FromMinutes(61));
        var result = await validator.ValidateAsync(token, TokenAudience.Subscriber);

        Assert.True(result.IsValid, result.Error);
        Assert.Equal(2, _server.Requests);
    }

    [Fact]
    public async Task Unknown_kid_refreshes_the_keys_at_most_every_30_seconds()
    {
        var validator = JwksValidator();
        Assert.True((await validator.ValidateAsync(Rs256(_keyA, Payload(), kid: "a"), TokenAudience.Subscriber)).IsValid);
        _server.Document = JwksDocument(Rsa("a", _keyA), Rsa("b", _keyB));
        var rotated = Rs256(_keyB, Payload("""{"subscribe":["*"]}"""), kid: "b");

        var tooSoon = await validator.ValidateAsync(rotated, TokenAudience.Subscriber);
        Assert.Equal("token signature invalid", tooSoon.Error);
        Assert.Equal(1, _server.Requests);

        _time.Advance(TimeSpan.FromSeconds(31));
        var afterInterval = await validator.ValidateAsync(rotated, TokenAudience.Subscriber);
        Assert.True(afterInterval.IsValid, afterInterval.Error);
        Assert.Equal(2, _server.Requests);

        // Made-up key ids right after a fetch cost nothing upstream.
        using var stranger = RSA.Create(2048);
        var madeUp = await validator.ValidateAsync(Rs256(stranger, Payload(), kid: "zzz"), TokenAudience.Subscriber);
        Assert.Equal("token signature invalid", madeUp.Error);
        Assert.Equal(2, _server.Requests);
    }

    [Fact]
    public async Task Known_kid_with_a_bad_signature_is_refused_without_a_refetch()
    {
        var validator = JwksValidator();
        Assert.True((await validator.ValidateAsync(Rs256(_keyA, Payload(), kid: "a"), TokenAudience.Subscriber)).IsValid);
        _time.Advance(TimeSpan.FromMinutes(5));

        var forged = await validator.ValidateAsync(Rs256(_keyB, Payload(), kid: "a"), TokenAudience.Subscriber);

        Assert.Equal("token signature invalid", forged.Error);
        Assert.Equal(1, _server.Requests);
    }

    [Fact]
    public async Task Ec_keys_from_jwks_verify_es256_tokens()
    {
        _server.Document = JwksDocument(Rsa("a", _keyA), Ec("ec", _ecKey));
        var validator = JwksValidator();

        var result = await validator.ValidateAsync(Es256(_ecKey, Payload("""{"subscribe":["*"]}"""), kid: "ec"), TokenAudience.Subscriber);

        Assert.True(result.IsValid, result.Error);
    }

    [Fact]
    public async Task Hmac_tokens_are_refused_even_when_the_jwks_holds_a_symmetric_key()
    {
        var secret = RandomNumberGenerator.GetBytes(32);
        _server.Document = JwksDocument(Rsa("a", _keyA), $$"""{"kty":"oct","kid":"s","k":"{{Base64Url.EncodeToString(secret)}}"}""");
        var validator = JwksValidator();

        var result = await validator.ValidateAsync(HandmadeHmac("HS256", secret, Payload()), TokenAudience.Subscriber);

        Assert.Equal("unsupported alg HS256", result.Error);
    }

    [Fact]
    public async Task Unreachable_jwks_gives_a_one_line_error_and_is_not_hammered()
    {
        _server.Failing = true;
        var validator = JwksValidator();
        var token = Rs256(_keyA, Payload(), kid: "a");

        var first = await validator.ValidateAsync(token, TokenAudience.Subscriber);
        var second = await validator.ValidateAsync(token, TokenAudience.Subscriber);

        Assert.Equal("JWKS keys unavailable", first.Error);
        Assert.Equal("JWKS keys unavailable", second.Error);
        Assert.Equal(1, _server.Requests);

        _server.Failing = false;
        _time.Advance(TimeSpan.FromSeconds(31));
        var recovered = await validator.ValidateAsync(token, TokenAudience.Subscriber);
        Assert.True(recovered.IsValid, recovered.Error);
    }

    [Fact]
    public async Task A_failing_jwks_is_logged_once_per_fetch_with_a_security_event_id()
    {
        _server.Failing = true;
        var logger = new RecordingLogger();
        var validator = new MercureTokenValidator(Options.Create(new HeraldOptions { SubscriberJwksUrl = _server.JwksUrl }), null, logger, _time);
        var token = Rs256(_keyA, Payload(), kid: "a");

        Assert.Equal("JWKS keys unavailable", (await validator.ValidateAsync(token, TokenAudience.Subscriber)).Error);
        Assert.Equal("JWKS keys unavailable", (await validator.ValidateAsync(token, TokenAudience.Subscriber)).Error);

        // Besides the startup advice that 1.0 tokens need a trusted issuer (505), which this 0.x hub has not.
        var entry = Assert.Single(logger.Entries, e => e.Id.Id != 505);
        Assert.Equal(500, entry.Id.Id);
        Assert.Equal(LogLevel.Warning, entry.Level);
        Assert.Contains(_server.JwksUrl, entry.Message, StringComparison.Ordinal);
        Assert.Contains("HTTP 500", entry.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Stale_keys_keep_working_while_the_jwks_is_down()
    {
        var validator = JwksValidator();
        var token = Rs256(_keyA, Payload(), kid: "a");
        Assert.True((await validator.ValidateAsync(token, TokenAudience.Subscriber)).IsValid);

        _server.Failing = true;
        _time.Advance(TimeSpan.FromHours(2));
        var result = await validator.ValidateAsync(token, TokenAudience.Subscriber);

        Assert.True(result.IsValid, result.Error);
        Assert.Equal(2, _server.Requests);
    }

    [Fact]
    public async Task Static_hs256_key_and_jwks_work_side_by_side()
    {
        var validator = Validator(o =>
        {
            o.PublisherJwtKey = PublisherKey;
            o.PublisherJwksUrl = _server.JwksUrl;
        }, _time);

        var hmac = await validator.ValidateAsync(Hs256(PublisherKey, Payload("""{"publish":["*"]}""")));
        var rsa = await validator.ValidateAsync(Rs256(_keyA, Payload("""{"publish":["*"]}"""), kid: "a"));

        Assert.True(hmac.IsValid, hmac.Error);
        Assert.True(rsa.IsValid, rsa.Error);
        Assert.Equal(1, _server.Requests);
    }

    private static string JwksDocument(params string[] keys) => "{\"keys\":[" + string.Join(',', keys) + "]}";

    private static string Rsa(string kid, RSA key)
    {
        var p = key.ExportParameters(includePrivateParameters: false);
        return $$"""{"kty":"RSA","use":"sig","alg":"RS256","kid":"{{kid}}","n":"{{Base64Url.EncodeToString(p.Modulus)}}","e":"{{Base64Url.EncodeToString(p.Exponent)}}"}""";
    }

    private static string Ec(string kid, ECDsa key)
    {
        var p = key.ExportParameters(includePrivateParameters: false);
        return $$"""{"kty":"EC","use":"sig","alg":"ES256","crv":"P-256","kid":"{{kid}}","x":"{{Base64Url.EncodeToString(p.Q.X)}}","y":"{{Base64Url.EncodeToString(p.Q.Y)}}"}""";
    }

    /// <summary>Keeps what is logged with its event id, which the shared capturing provider does not record.</summary>
    /// <summary>Serves one JWKS document that the test may swap, counting requests, or answers 500 when failing.</summary>
    private sealed class JwksServer : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private int _requests;

        private JwksServer(WebApplication app, string document)
        {
            _app = app;
            Document = document;
        }

        public volatile string Document;

        public volatile bool Failing;

        public int Requests => Volatile.Read(ref _requests);

        public string JwksUrl { get; private set; } = "";

        public static async Task<JwksServer> StartAsync(string document)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.Logging.ClearProviders();
            var app = builder.Build();
            var server = new JwksServer(app, document);
            app.MapGet("/jwks.json", () =>
            {
                Interlocked.Increment(ref server._requests);
                return server.Failing
                    ? Results.StatusCode(StatusCodes.Status500InternalServerError)
                    : Results.Text(server.Document, "application/json");
            });
            await app.StartAsync().WaitAsync(TestTimeout);
            var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
            server.JwksUrl = address.TrimEnd('/') + "/jwks.json";
            return server;
        }

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync().WaitAsync(TestTimeout);
            await _app.DisposeAsync().AsTask().WaitAsync(TestTimeout);
        }
    }
}
