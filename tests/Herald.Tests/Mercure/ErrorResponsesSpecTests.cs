using System.Net;
using Herald.Mercure;
using Herald.Security;
using Herald.Tests.Infrastructure;

namespace Herald.Tests.Mercure;

/// <summary>
/// Mercure 1.0, "Error Responses" (RFC 6750 section 3, RFC 9728 section 5.1): every 401 and 403 carries a
/// <c>WWW-Authenticate: Bearer</c> challenge with the absolute URL of the hub's metadata; the error code names what
/// went wrong, and a request without a token gets none. The tokens are 0.x ones: the answers are the same for both
/// generations, except where a test says otherwise.
/// </summary>
public sealed class ErrorResponsesSpecTests : IAsyncLifetime
{
    private TestHub _hub = null!;

    public async Task InitializeAsync() => _hub = await TestHub.StartAsync(new Dictionary<string, string?> { ["Herald:PublishOrigins:0"] = "https://app.example.com" });

    public async Task DisposeAsync() => await _hub.DisposeAsync();

    private string Metadata => _hub.BaseUrl + "/.well-known/oauth-protected-resource/.well-known/mercure";

    private async Task<(HttpStatusCode Status, string? Challenge, string Body)> Publish(Action<HttpRequestMessage> present, string form = "topic=t&data=x")
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, _hub.HubUrl) { Content = new StringContent(form, System.Text.Encoding.UTF8, "application/x-www-form-urlencoded") };
        present(request);
        using var response = await _hub.Client.SendAsync(request).WaitAsync(TimeSpan.FromSeconds(30));
        var challenge = response.Headers.TryGetValues("WWW-Authenticate", out var values) ? Assert.Single(values) : null;
        return (response.StatusCode, challenge, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Error_responses_no_token_is_401_with_a_bare_challenge_naming_the_metadata()
    {
        var (status, challenge, body) = await Publish(_ => { });

        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Equal($"Bearer resource_metadata=\"{Metadata}\"", challenge);
        Assert.Contains("token", body, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("forged")]
    [InlineData("expired")]
    [InlineData("malformed")]
    public async Task Error_responses_a_token_that_fails_validation_is_401_invalid_token(string what)
    {
        var token = what switch
        {
            "forged" => TokenIssuer.Create("another-key-0123456789-0123456789-012", ["*"], null, TimeSpan.FromHours(1)),
            "expired" => TokenIssuer.Create(TestHub.Key, ["*"], null, TimeSpan.FromMinutes(-5)),
            _ => "not.a.jwt",
        };

        var (status, challenge, _) = await Publish(request => request.Headers.Authorization = new("Bearer", token));

        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Equal($"Bearer error=\"invalid_token\", resource_metadata=\"{Metadata}\"", challenge);
    }

    [Fact]
    public async Task Error_responses_a_valid_token_without_the_grant_is_403_insufficient_scope()
    {
        var (status, challenge, _) = await Publish(request => request.Headers.Authorization = new("Bearer", TestHub.PublisherToken("https://example.com/other")));

        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Equal($"Bearer error=\"insufficient_scope\", resource_metadata=\"{Metadata}\"", challenge);
    }

    [Theory]
    [InlineData("Basic dXNlcjpwYXNz")]
    [InlineData("Bearer")]
    [InlineData("Bearer    ")]
    public async Task Error_responses_a_malformed_authorization_header_is_400_invalid_request(string header)
    {
        var (status, challenge, body) = await Publish(request => request.Headers.TryAddWithoutValidation("Authorization", header));

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal($"Bearer error=\"invalid_request\", resource_metadata=\"{Metadata}\"", challenge);
        Assert.StartsWith("invalid Authorization header", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Error_responses_a_1_0_cookie_from_a_foreign_origin_is_400_invalid_request()
    {
        var (status, challenge, _) = await Publish(request =>
        {
            request.Headers.Add("Cookie", $"__Secure-mercure_access_token={TestHub.PublisherToken()}; mercureAuthorization={TestHub.PublisherToken()}");
            request.Headers.Add("Origin", "https://evil.example.com");
        });

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal($"Bearer error=\"invalid_request\", resource_metadata=\"{Metadata}\"", challenge);
    }

    [Fact]
    public async Task Error_responses_a_0x_cookie_from_a_foreign_origin_keeps_its_401_with_an_invalid_request_challenge()
    {
        var (status, challenge, body) = await Publish(request =>
        {
            request.Headers.Add("Cookie", "mercureAuthorization=" + TestHub.PublisherToken());
            request.Headers.Add("Origin", "https://evil.example.com");
        });

        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Equal($"Bearer error=\"invalid_request\", resource_metadata=\"{Metadata}\"", challenge);
        Assert.StartsWith(TokenLocator.CookieOriginError, body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Error_responses_a_400_for_a_request_malformed_independently_of_the_token_carries_no_challenge()
    {
        var (status, challenge, _) = await Publish(request => request.Headers.Authorization = new("Bearer", TestHub.PublisherToken()), form: "data=x");

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Null(challenge);
    }

    [Fact]
    public async Task Error_responses_resource_metadata_follows_a_pinned_resource_identifier()
    {
        await using var hub = await TestHub.StartAsync(new Dictionary<string, string?> { ["Herald:ResourceIdentifier"] = "https://hub.example.com/.well-known/mercure" });
        using var response = await hub.Client.PostAsync(hub.HubUrl, new FormUrlEncodedContent([new("topic", "t")])).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("Bearer resource_metadata=\"https://hub.example.com/.well-known/oauth-protected-resource/.well-known/mercure\"", response.Headers.WwwAuthenticate.ToString());
    }

    [Fact]
    public async Task Error_responses_resource_metadata_follows_the_hub_path_and_the_path_base()
    {
        await using var hub = await MountedHub.StartAsync("/hub", pathBase: "/base");
        using var response = await hub.Client.PostAsync(hub.HubUrl, new FormUrlEncodedContent([new("topic", "t")])).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal($"Bearer resource_metadata=\"{hub.BaseUrl}/.well-known/oauth-protected-resource/base/hub\"", response.Headers.WwwAuthenticate.ToString());
    }

    [Theory]
    [InlineData(null, "https://hub.example.com/.well-known/mercure", "Bearer resource_metadata=\"https://hub.example.com/.well-known/oauth-protected-resource/.well-known/mercure\"")]
    [InlineData("invalid_token", "https://hub.example.com:8443/base/hub?tenant=1", "Bearer error=\"invalid_token\", resource_metadata=\"https://hub.example.com:8443/.well-known/oauth-protected-resource/base/hub?tenant=1\"")]
    [InlineData(null, "https://hub.example.com/", "Bearer resource_metadata=\"https://hub.example.com/.well-known/oauth-protected-resource\"")]
    [InlineData(null, "https://user:secret@hub.example.com:443/hub", "Bearer resource_metadata=\"https://hub.example.com/.well-known/oauth-protected-resource/hub\"")]
    [InlineData(null, "https://b\u00fccher.example/h\u00fcb/a\"b", "Bearer resource_metadata=\"https://xn--bcher-kva.example/.well-known/oauth-protected-resource/h%C3%BCb/a%22b\"")]
    [InlineData(null, "http://[::1]:5000/.well-known/mercure", "Bearer resource_metadata=\"http://[::1]:5000/.well-known/oauth-protected-resource/.well-known/mercure\"")]
    [InlineData("insufficient_scope", "urn:example:hub", "Bearer error=\"insufficient_scope\"")]
    [InlineData(null, "/.well-known/mercure", "Bearer")]
    public void Error_responses_the_challenge_is_RFC_6750_with_an_absolute_RFC_9728_resource_metadata(string? error, string hubUrl, string expected)
        => Assert.Equal(expected, ErrorResponse.Challenge(error, hubUrl));
}
