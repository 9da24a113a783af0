using Herald.Security;
using Microsoft.AspNetCore.Http;
using static Herald.Tests.Security.AccessTokens;
using static Herald.Tests.Security.TestTokens;

namespace Herald.Tests.Security;

/// <summary>
/// Mercure 1.0, "Presenting the Access Token": the <c>Authorization: Bearer</c> header (it wins) or the cookie; never the
/// query string. Mercure 0.x's query parameter and <c>mercureAuthorization</c> cookie only in compatible mode.
/// </summary>
public sealed class PresentingTheAccessTokenSpecTests
{
    private static readonly string V1Token = Publisher();
    private static readonly string LegacyToken = TestTokens.Hs256(PublisherKey, Payload("""{"publish":["*"]}"""));

    private static HttpRequest Request(string? header = null, string? query = null, string? cookies = null, string method = "GET")
    {
        var request = new DefaultHttpContext().Request;
        request.Method = method;
        if (header is not null)
        {
            request.Headers.Authorization = header;
        }

        if (query is not null)
        {
            request.QueryString = QueryString.Create("authorization", query);
        }

        if (cookies is not null)
        {
            request.Headers.Cookie = cookies;
        }

        return request;
    }

    private static async Task<TokenOutcome> Authenticate(HttpRequest request, MercureProtocol protocol = MercureProtocol.Compatible, string? cookieName = null)
        => await IssuerValidator(protocol, o => o.CookieName = cookieName ?? o.CookieName)
            .AuthenticateAsync(request, TokenAudience.Publisher, HubUrl, CancellationToken.None).AsTask().WaitAsync(TestTimeout);

    [Fact]
    public async Task Presenting_the_Access_Token_by_the_Authorization_header()
    {
        var outcome = await Authenticate(Request(header: "Bearer " + V1Token));

        Assert.Equal(TokenStatus.Valid, outcome.Status);
        Assert.Equal(TokenGeneration.V1, outcome.Claims!.Generation);
    }

    [Fact]
    public async Task Presenting_the_Access_Token_by_the_cookie_named_by_CookieName()
    {
        var byDefaultName = await Authenticate(Request(cookies: "theme=dark; __Secure-mercure_access_token=" + V1Token));
        var byOtherName = await Authenticate(Request(cookies: "mercure_access_token=" + V1Token), cookieName: "mercure_access_token");
        var defaultNameWhenRenamed = await Authenticate(Request(cookies: "__Secure-mercure_access_token=" + V1Token), cookieName: "mercure_access_token");

        Assert.Equal(TokenStatus.Valid, byDefaultName.Status);
        Assert.Equal(TokenStatus.Valid, byOtherName.Status);
        Assert.Equal(TokenStatus.Absent, defaultNameWhenRenamed.Status);
    }

    [Fact]
    public async Task Presenting_the_Access_Token_the_header_wins_over_the_cookie_which_is_ignored()
    {
        // A broken token in the cookie changes nothing: the header's token is used, the cookie not even read.
        var headerWins = await Authenticate(Request(header: "Bearer " + V1Token, cookies: "__Secure-mercure_access_token=garbage"));
        var badHeader = await Authenticate(Request(header: "Bearer garbage", cookies: "__Secure-mercure_access_token=" + V1Token));

        Assert.Equal(TokenStatus.Valid, headerWins.Status);
        Assert.Equal(TokenStatus.InvalidToken, badHeader.Status);
    }

    [Theory]
    [InlineData("Basic dXNlcjpwYXNz")]
    [InlineData("Bearer ")]
    [InlineData("Bearertoken")]
    public async Task Presenting_the_Access_Token_a_malformed_Authorization_header_is_invalid_request(string header)
    {
        var outcome = await Authenticate(Request(header: header, cookies: "__Secure-mercure_access_token=" + V1Token));

        Assert.Equal(TokenStatus.InvalidRequest, outcome.Status);
        Assert.StartsWith("invalid Authorization header", outcome.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Presenting_the_Access_Token_a_1_0_token_in_the_query_string_is_refused_as_invalid_request()
    {
        var outcome = await Authenticate(Request(query: V1Token));

        Assert.Equal(TokenStatus.InvalidRequest, outcome.Status);
        Assert.Equal("Mercure 1.0 tokens are not accepted in the query string: send Authorization: Bearer or the cookie", outcome.Error);
    }

    [Fact]
    public async Task Presenting_the_Access_Token_0x_query_parameter_and_legacy_cookie_work_in_compatible_mode()
    {
        var query = await Authenticate(Request(query: LegacyToken));
        var legacyCookie = await Authenticate(Request(cookies: "mercureAuthorization=" + LegacyToken));
        var newCookieFirst = await Authenticate(Request(cookies: "mercureAuthorization=garbage; __Secure-mercure_access_token=" + V1Token));

        Assert.Equal(TokenStatus.Valid, query.Status);
        Assert.Equal(TokenGeneration.Legacy, query.Claims!.Generation);
        Assert.Equal(TokenStatus.Valid, legacyCookie.Status);
        Assert.Equal(TokenStatus.Valid, newCookieFirst.Status);
    }

    [Fact]
    public async Task Presenting_the_Access_Token_in_V1_the_query_string_is_refused_and_the_legacy_cookie_not_read()
    {
        var query = await Authenticate(Request(query: V1Token), MercureProtocol.V1);
        var legacyCookie = await Authenticate(Request(cookies: "mercureAuthorization=" + V1Token), MercureProtocol.V1);

        Assert.Equal(TokenStatus.InvalidRequest, query.Status);
        Assert.Equal("tokens are not accepted in the query string: send Authorization: Bearer or the cookie", query.Error);
        Assert.Equal(TokenStatus.Absent, legacyCookie.Status);
    }

    [Fact]
    public async Task Presenting_the_Access_Token_a_cookie_on_a_post_from_an_origin_not_allowed_is_refused()
    {
        var request = Request(cookies: "__Secure-mercure_access_token=" + V1Token, method: "POST");
        request.Headers.Origin = "https://evil.example.com";

        var outcome = await Authenticate(request);

        Assert.Equal(TokenStatus.OriginRefused, outcome.Status);
        Assert.Equal(TokenLocator.CookieOriginError, outcome.Error);
    }

    [Fact]
    public async Task Presenting_the_Access_Token_no_token_is_absent_not_an_error()
    {
        var outcome = await Authenticate(Request(cookies: "__Secure-mercure_access_token="));

        Assert.Equal(TokenStatus.Absent, outcome.Status);
        Assert.Null(outcome.Error);
    }
}
