using System.Net;
using System.Text;
using Herald.Mercure;
using Herald.Tests.Infrastructure;

namespace Herald.Tests.Hardening;

/// <summary>
/// <see cref="HeraldOptions.MaxMatchersPerAnchor"/>: a subscription that would add one more distinct URI template or URL
/// pattern to a full bucket of the hub's matcher index is answered 503 with <c>Retry-After</c> and a one-line reason
/// naming no selector, on the direct-socket path (<see cref="TestHub"/>, whose refusals carry <c>Connection: close</c>)
/// and through Kestrel (<see cref="KestrelOnlyHub"/>). A matcher already held is shared and accepted; a bucket frees when
/// its subscribers leave; matchers with their own fixed text (one per user) are never refused. One client (one address;
/// the second client connects from 127.0.0.2) brings at most its share of a bucket's places
/// (<see cref="HeraldOptions.MaxMatchersPerAnchorPerClient"/>), hub URLs made with the Host header included.
/// </summary>
public sealed class MatcherCapTests
{
    private const int Cap = 3;

    /// <summary>The per-client share in the tests of the cap alone: as large as the cap, so one client can fill a bucket.</summary>
    private static readonly Dictionary<string, string?> Settings = new()
    {
        ["Herald:Anonymous"] = "true",
        ["Herald:MaxMatchersPerAnchor"] = Cap.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Herald:MaxMatchersPerAnchorPerClient"] = Cap.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    /// <summary>The default per-client share, under the same cap: one client brings at most two of a bucket's three places.</summary>
    private static readonly Dictionary<string, string?> Shared = new()
    {
        ["Herald:Anonymous"] = "true",
        ["Herald:MaxMatchersPerAnchor"] = Cap.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    /// <summary>A second client: another loopback address (Linux routes all of 127/8 to lo).</summary>
    private static readonly IPAddress Other = IPAddress.Parse("127.0.0.2");

    /// <summary>Distinct templates filed under one prefix, <c>https://example.com/items/</c> (their literal ends are shorter).</summary>
    private static string Template(int n) => $"topic={Uri.EscapeDataString($"https://example.com/items/{{id}}x{n}")}";

    /// <summary>Distinct URL patterns filed under one anchor: host <c>example.com</c>, pathname prefix <c>/books/</c>.</summary>
    private static string Pattern(int n) => $"match_urlpattern={Uri.EscapeDataString($"https://example.com/books/:id/a{n}")}";

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task The_template_past_the_cap_in_one_bucket_is_refused_503_a_shared_one_is_not_and_a_leave_frees_a_place(bool direct)
    {
        await using var hub = await Hub.StartAsync(direct);
        var held = new List<HttpResponseMessage>();
        try
        {
            for (var n = 1; n <= Cap; n++)
            {
                held.Add(await OpenAsync(hub, Template(n)));
            }

            await AssertRefusedAsync(hub, Template(Cap + 1), ["x4", "items"]);
            await AssertAcceptedAsync(hub, Template(2));
            Assert.Equal(Cap, hub.Matcher.Templates.Count);

            // A leave gives its place back once the hub has seen the client go.
            held[0].Dispose();
            await TestHub.Eventually(() => hub.Matcher.Templates.Count == Cap - 1, "the leaving subscriber's template to be released");
            held.Add(await OpenAsync(hub, Template(Cap + 1)));
        }
        finally
        {
            held.ForEach(r => r.Dispose());
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task The_URL_pattern_past_the_cap_in_one_bucket_is_refused_503_a_shared_one_is_not_and_a_leave_frees_a_place(bool direct)
    {
        await using var hub = await Hub.StartAsync(direct);
        var held = new List<HttpResponseMessage>();
        try
        {
            for (var n = 1; n <= Cap; n++)
            {
                held.Add(await OpenAsync(hub, Pattern(n)));
            }

            await AssertRefusedAsync(hub, Pattern(Cap + 1), ["a4", "books"]);

            // With a pattern the hub holds beside it, the refused one still refuses the whole subscription.
            await AssertRefusedAsync(hub, Pattern(1) + "&" + Pattern(Cap + 1), ["a4", "books"]);
            await AssertAcceptedAsync(hub, Pattern(3));
            Assert.Equal(Cap, hub.Matcher.Patterns.Count);

            held[^1].Dispose();
            await TestHub.Eventually(() => hub.Matcher.Patterns.Count == Cap - 1, "the leaving subscriber's pattern to be released");
            held.Add(await OpenAsync(hub, Pattern(Cap + 1)));
        }
        finally
        {
            held.ForEach(r => r.Dispose());
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Per_user_matchers_with_their_own_fixed_text_are_never_refused(bool direct)
    {
        await using var hub = await Hub.StartAsync(direct);
        var held = new List<HttpResponseMessage>();
        try
        {
            for (var user = 0; user < Cap * 4; user++)
            {
                var pattern = Uri.EscapeDataString($"https://example.com/users/{user}/*");
                var template = Uri.EscapeDataString($"https://example.com/users/{user}/{{+rest}}");
                held.Add(await OpenAsync(hub, $"match_urlpattern={pattern}&topic={template}"));
            }

            Assert.Equal(Cap * 4, hub.Matcher.Patterns.Count);
            Assert.Equal(Cap * 4, hub.Matcher.Templates.Count);
        }
        finally
        {
            held.ForEach(r => r.Dispose());
        }
    }

    [Fact]
    public async Task Hub_URLs_made_up_with_the_Host_header_are_capped_for_URL_patterns()
    {
        await using var hub = await Hub.StartAsync(direct: true);
        var held = new List<HttpResponseMessage>();
        try
        {
            // A relative pattern resolves against the hub URL the request's Host names: one new hub URL each.
            for (var n = 1; n <= Cap; n++)
            {
                held.Add(await OpenAsync(hub, "match_urlpattern=%2Fbooks%2F%3Aid", $"host{n}.example"));
            }

            Assert.Equal(Cap, hub.Matcher.Patterns.Count);
            await AssertRefusedAsync(hub, "match_urlpattern=%2Fbooks%2F%3Aid", ["books", "host4"], "host4.example");
            await AssertAcceptedAsync(hub, "match_urlpattern=%2Fbooks%2F%3Aid", host: "host2.example");
        }
        finally
        {
            held.ForEach(r => r.Dispose());
        }
    }

    [Theory]
    [InlineData(true, false)]
    [InlineData(false, false)]
    [InlineData(true, true)]
    [InlineData(false, true)]
    public async Task One_client_cannot_fill_a_bucket_another_client_still_gets_its_new_matcher_in_and_every_place_returns(bool direct, bool patterns)
    {
        await using var hub = await Hub.StartAsync(direct, Shared);
        Func<int, string> matcher = patterns ? Pattern : Template;
        int Held() => patterns ? hub.Matcher.Patterns.Count : hub.Matcher.Templates.Count;
        using var other = hub.ClientFrom(Other);
        var held = new List<HttpResponseMessage>();
        try
        {
            // The first client (127.0.0.1) brings its share, two of the bucket's three places; its third is refused.
            held.Add(await OpenAsync(hub, matcher(1)));
            held.Add(await OpenAsync(hub, matcher(2)));
            await AssertRefusedAsync(hub, matcher(3), ["a3", "x3", "books", "items"]);

            // Another client gets the third place; the bucket is full for it too now, but what is held is shared with anyone.
            held.Add(await OpenAsync(hub, matcher(3), client: other));
            await AssertRefusedAsync(hub, matcher(4), ["a4", "x4", "books", "items"], from: Other);
            held.Add(await OpenAsync(hub, matcher(1), client: other));
            held.Add(await OpenAsync(hub, matcher(3)));
            Assert.Equal(Cap, Held());
        }
        finally
        {
            held.ForEach(r => r.Dispose());
        }

        await TestHub.Eventually(() => Held() == 0, "every matcher to be released");
        Assert.Equal(0, hub.Matcher.Templates.ClientPlaces + hub.Matcher.Patterns.ClientPlaces);
    }

    [Fact]
    public async Task A_shared_bucket_holds_four_times_an_anchor_s_places()
    {
        await using var hub = await Hub.StartAsync(direct: true, Shared);
        var held = new List<HttpResponseMessage>();
        var clients = new List<HttpClient>();
        try
        {
            // Templates with no literal start (filed by their literal end) and URL patterns with no fixed host: one bucket
            // each, hub-wide, of 4 × 3 places, from six clients at their share of two.
            for (var n = 0; n < 4 * Cap; n++)
            {
                if (n % 2 == 0)
                {
                    clients.Add(hub.ClientFrom(IPAddress.Parse($"127.0.1.{1 + (n / 2)}")));
                }

                var template = Uri.EscapeDataString($"{{+host}}/shared/n{n}");
                var pattern = Uri.EscapeDataString($"https://*.example.com/shared/n{n}");
                held.Add(await OpenAsync(hub, $"topic={template}&match_urlpattern={pattern}", client: clients[^1]));
            }

            Assert.Equal((4 * Cap, 4 * Cap), (hub.Matcher.Templates.Count, hub.Matcher.Patterns.Count));
            var from = IPAddress.Parse("127.0.2.1");
            await AssertRefusedAsync(hub, "topic=" + Uri.EscapeDataString("{+host}/shared/last"), ["shared"], from: from);
            await AssertRefusedAsync(hub, "match_urlpattern=" + Uri.EscapeDataString("https://*.example.com/shared/last"), ["shared"], from: from);
        }
        finally
        {
            held.ForEach(r => r.Dispose());
            clients.ForEach(c => c.Dispose());
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Made_up_hosts_from_one_client_are_capped_at_its_share_and_absolute_patterns_take_no_hub_URL_place(bool direct)
    {
        await using var hub = await Hub.StartAsync(direct, Shared);
        using var other = hub.ClientFrom(Other);
        var held = new List<HttpResponseMessage>();
        const string Relative = "match_urlpattern=%2Fbooks%2F%3Aid";
        try
        {
            // A relative pattern is held for the hub URL the Host header makes: one client brings two made-up ones.
            held.Add(await OpenAsync(hub, Relative, "made-up-1.example"));
            held.Add(await OpenAsync(hub, Relative, "made-up-2.example"));
            await AssertRefusedAsync(hub, Relative, ["books", "made-up"], "made-up-3.example");
            Assert.Equal(2, hub.Matcher.Patterns.BaseCount);

            // Another client's subscription on the real host gets the last place.
            held.Add(await OpenAsync(hub, Relative, client: other));
            Assert.Equal(Cap, hub.Matcher.Patterns.BaseCount);

            // An absolute pattern names its own host: from a hub URL with no place left it is held for none, not refused,
            // and it still gets the updates of its topics.
            var topic = "https://example.com/absolute/1";
            await using var reader = await SseReader.OpenAsync(await OpenAsync(hub, "match_urlpattern=" + Uri.EscapeDataString("https://example.com/absolute/:id"), "made-up-4.example"));
            Assert.Equal(Cap, hub.Matcher.Patterns.BaseCount);
            await TestHub.Eventually(() => hub.Matcher.Patterns.Count == 4, "the absolute pattern to be held");
            await PublishAsync(hub, topic, "absolute");
            Assert.Equal("absolute", (await reader.NextAsync())?.Data);
        }
        finally
        {
            held.ForEach(r => r.Dispose());
        }

        await TestHub.Eventually(() => hub.Matcher.Patterns.Count == 0, "every pattern to be released");
        Assert.Equal((0, 0), (hub.Matcher.Patterns.BaseCount, hub.Matcher.Patterns.ClientPlaces));
    }

    /// <summary>Publishes one update (the hub is anonymous for subscribers, not for publishers).</summary>
    private static async Task PublishAsync(Hub hub, string topic, string data)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, hub.HubUrl)
        {
            Content = new FormUrlEncodedContent([new("topic", topic), new("data", data)]),
        };
        request.Headers.Authorization = new("Bearer", TestHub.PublisherToken());
        using var response = await hub.Client.SendAsync(request).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(response.IsSuccessStatusCode, $"publish failed: {(int)response.StatusCode}");
    }

    /// <summary>Opens a subscription over HTTP and keeps it open (the caller disposes it to leave).</summary>
    private static async Task<HttpResponseMessage> OpenAsync(Hub hub, string query, string? host = null, HttpClient? client = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, hub.HubUrl + "?" + query);
        if (host is not null)
        {
            request.Headers.Host = host;
        }

        var response = await (client ?? hub.Client).SendAsync(request, HttpCompletionOption.ResponseHeadersRead).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"subscription refused: {(int)response.StatusCode}");
        return response;
    }

    /// <summary>A subscription that opens (read to its head over a raw socket, then left).</summary>
    private static async Task AssertAcceptedAsync(Hub hub, string query, string? host = null)
    {
        var answer = await RawExchange.ExchangeAsync(new Uri(hub.BaseUrl), Request(hub, query, host), readBody: false);
        Assert.Equal(200, answer.Status);
    }

    /// <summary>A subscription refused by the cap: 503, Retry-After, the one-line reason quoting none of <paramref name="notEchoed"/>.</summary>
    private static async Task AssertRefusedAsync(Hub hub, string query, string[] notEchoed, string? host = null, IPAddress? from = null)
    {
        var held = (hub.Matcher.Templates.Count, hub.Matcher.Patterns.Count);
        var places = (hub.Matcher.Templates.ClientPlaces, hub.Matcher.Patterns.ClientPlaces, hub.Matcher.Patterns.BaseCount);
        var answer = await RawExchange.ExchangeAsync(new Uri(hub.BaseUrl), Request(hub, query, host), from: from);

        Assert.Equal(503, answer.Status);
        Assert.True(int.TryParse(answer.Header("Retry-After"), out var seconds) && seconds > 0, "Retry-After in seconds");
        Assert.Equal(SubscribeEndpoint.MatcherCapReason + "\n", answer.Body);
        foreach (var text in notEchoed)
        {
            Assert.DoesNotContain(text, answer.Body, StringComparison.Ordinal);
        }

        // The direct path answers and closes; Kestrel keeps the connection. Either way nothing was taken.
        Assert.Equal(hub.Direct, answer.Header("Connection") == "close");
        Assert.Equal(held, (hub.Matcher.Templates.Count, hub.Matcher.Patterns.Count));
        Assert.Equal(places, (hub.Matcher.Templates.ClientPlaces, hub.Matcher.Patterns.ClientPlaces, hub.Matcher.Patterns.BaseCount));
    }

    private static byte[] Request(Hub hub, string query, string? host)
    {
        var uri = new Uri(hub.HubUrl);
        return Encoding.ASCII.GetBytes($"GET {uri.AbsolutePath}?{query} HTTP/1.1\r\nHost: {host ?? uri.Authority}\r\n\r\n");
    }

    /// <summary>The hub under test, either way it serves subscriptions.</summary>
    private sealed class Hub : IAsyncDisposable
    {
        private readonly TestHub? _direct;
        private readonly KestrelOnlyHub? _kestrel;

        private Hub(TestHub? direct, KestrelOnlyHub? kestrel) => (_direct, _kestrel) = (direct, kestrel);

        public bool Direct => _direct is not null;

        public string BaseUrl => _direct?.BaseUrl ?? _kestrel!.BaseUrl;

        public string HubUrl => BaseUrl + "/.well-known/mercure";

        public HttpClient Client => _direct?.Client ?? _kestrel!.Client;

        public Herald.Topics.TopicMatcher Matcher => (_direct?.Hub ?? _kestrel!.Hub).Matcher;

        public static async Task<Hub> StartAsync(bool direct, Dictionary<string, string?>? settings = null)
            => direct ? new Hub(await TestHub.StartAsync(settings ?? Settings), null) : new Hub(null, await KestrelOnlyHub.StartAsync(settings ?? Settings));

        /// <summary>A client whose connections come from <paramref name="local"/>, so the hub sees another address.</summary>
        public HttpClient ClientFrom(IPAddress local) => TestHub.ClientFrom(BaseUrl, local);

        public async ValueTask DisposeAsync()
        {
            if (_direct is not null)
            {
                await _direct.DisposeAsync();
            }

            if (_kestrel is not null)
            {
                await _kestrel.DisposeAsync();
            }
        }
    }
}
