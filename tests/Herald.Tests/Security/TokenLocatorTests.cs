using Herald.Security;
using Microsoft.AspNetCore.Http;

namespace Herald.Tests.Security;

public sealed class TokenLocatorTests
{
    private static readonly List<string> AllowedOrigins = ["https://app.example.com"];

    private static HttpRequest Request(
        string method = "GET",
        string? header = null,
        string? query = null,
        string? cookie = null,
        string? origin = null,
        string? referer = null)
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

        if (cookie is not null)
        {
            request.Headers.Cookie = "theme=dark; mercureAuthorization=" + cookie;
        }

        if (origin is not null)
        {
            request.Headers.Origin = origin;
        }

        if (referer is not null)
        {
            request.Headers.Referer = referer;
        }

        return request;
    }

    /// <summary>The token and the refusal's reason, as the 0.x hub's order gives them (compatible mode, the default).</summary>
    private static (string? Token, string? Error) Find(HttpRequest request, IList<string> publishOrigins)
    {
        var options = new HeraldOptions();
        foreach (var origin in publishOrigins)
        {
            options.PublishOrigins.Add(origin);
        }

        var found = TokenLocator.Find(request, options);
        return (found.Token, found.Refusal?.Error);
    }

    [Fact]
    public void No_token_anywhere_gives_neither_token_nor_error()
    {
        Assert.Equal((null, null), Find(Request(), AllowedOrigins));
        Assert.Equal((null, null), Find(Request("POST"), AllowedOrigins));
    }

    [Fact]
    public void Header_beats_query_beats_cookie()
    {
        Assert.Equal(("h", null), Find(Request(header: "Bearer h", query: "q", cookie: "c"), AllowedOrigins));
        Assert.Equal(("q", null), Find(Request(query: "q", cookie: "c"), AllowedOrigins));
        Assert.Equal(("c", null), Find(Request(cookie: "c"), AllowedOrigins));
    }

    [Fact]
    public void Bearer_scheme_is_case_insensitive()
    {
        Assert.Equal(("tok", null), Find(Request(header: "bearer tok"), AllowedOrigins));
    }

    [Theory]
    [InlineData("Basic dXNlcjpwYXNz")]
    [InlineData("Bearer ")]
    [InlineData("Bearertok")]
    public void Authorization_header_that_is_not_a_bearer_token_is_an_error_not_a_fallback(string header)
    {
        var (token, error) = Find(Request(header: header, cookie: "c"), AllowedOrigins);

        Assert.Null(token);
        Assert.StartsWith("invalid Authorization header", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Two_authorization_headers_are_an_error()
    {
        var request = Request();
        request.Headers.Authorization = new(["Bearer a", "Bearer b"]);

        Assert.StartsWith("invalid Authorization header", Find(request, AllowedOrigins).Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Empty_or_repeated_query_parameter_is_an_error()
    {
        var repeated = Request();
        repeated.QueryString = new QueryString("?authorization=a&authorization=b");

        Assert.StartsWith("invalid authorization query parameter", Find(Request(query: ""), AllowedOrigins).Error, StringComparison.Ordinal);
        Assert.StartsWith("invalid authorization query parameter", Find(repeated, AllowedOrigins).Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Cookie_on_get_needs_no_origin()
    {
        Assert.Equal(("c", null), Find(Request("GET", cookie: "c"), AllowedOrigins));
    }

    [Fact]
    public void Cookie_post_from_an_allowed_origin_is_accepted()
    {
        Assert.Equal(("c", null), Find(Request("POST", cookie: "c", origin: "https://app.example.com"), AllowedOrigins));
        Assert.Equal(("c", null), Find(Request("POST", cookie: "c", origin: "https://APP.example.com"), ["https://app.example.com/"]));
    }

    [Theory]
    [InlineData("https://evil.example.com")]
    [InlineData("http://app.example.com")]
    [InlineData("https://app.example.com:8443")]
    [InlineData("null")]
    public void Cookie_post_from_another_origin_is_refused(string origin)
    {
        var result = Find(Request("POST", cookie: "c", origin: origin), AllowedOrigins);

        Assert.Equal((null, TokenLocator.CookieOriginError), result);
        Assert.Equal("cookie-based publish requires an allowed Origin", result.Error);
    }

    [Fact]
    public void Cookie_post_without_origin_falls_back_to_the_referer_origin()
    {
        Assert.Equal(("c", null), Find(Request("POST", cookie: "c", referer: "https://app.example.com/books/1?x=y#z"), AllowedOrigins));
        Assert.Equal((null, TokenLocator.CookieOriginError), Find(Request("POST", cookie: "c", referer: "https://evil.example.com/app.example.com"), AllowedOrigins));
        Assert.Equal((null, TokenLocator.CookieOriginError), Find(Request("POST", cookie: "c", referer: "not a url"), AllowedOrigins));
    }

    [Fact]
    public void Origin_header_wins_over_referer()
    {
        var result = Find(
            Request("POST", cookie: "c", origin: "https://evil.example.com", referer: "https://app.example.com/page"),
            AllowedOrigins);

        Assert.Equal(TokenLocator.CookieOriginError, result.Error);
    }

    [Fact]
    public void Wildcard_allows_any_origin_but_still_needs_one()
    {
        List<string> any = ["*"];

        Assert.Equal(("c", null), Find(Request("POST", cookie: "c", origin: "https://anything.example"), any));
        Assert.Equal(("c", null), Find(Request("POST", cookie: "c", referer: "http://localhost:3000/"), any));
        Assert.Equal((null, TokenLocator.CookieOriginError), Find(Request("POST", cookie: "c"), any));
    }

    [Fact]
    public void Cookie_post_is_refused_when_no_origin_is_allowed()
    {
        Assert.Equal((null, TokenLocator.CookieOriginError), Find(Request("POST", cookie: "c", origin: "https://app.example.com"), []));
    }

    [Fact]
    public void Header_or_query_token_on_post_needs_no_origin()
    {
        Assert.Equal(("h", null), Find(Request("POST", header: "Bearer h"), []));
        Assert.Equal(("q", null), Find(Request("POST", query: "q"), []));
    }
}
