using System.Net;
using Herald.Tests.Infrastructure;
using Herald.Tests.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using static Herald.Tests.Security.TestTokens;

namespace Herald.Tests.Hardening;

/// <summary>
/// A token is good until <c>exp</c> plus the validator's 5 s clock skew, on the hub's clock, whether it was validated
/// just now or comes from the cache: the cache never keeps a token alive past what a fresh validation allows.
/// The clock is moved by hand (the app's <see cref="TimeProvider"/>), so nothing here waits for time to pass.
/// </summary>
public sealed class TokenExpiryTests
{
    private static readonly DateTimeOffset Start = new(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Skew = TimeSpan.FromSeconds(5);

    private static string Publisher(DateTimeOffset exp, DateTimeOffset? nbf = null) =>
        Hs256(PublisherKey, Payload("""{"publish":["*"]}""", exp.ToUnixTimeSeconds(), nbf?.ToUnixTimeSeconds()));

    [Fact]
    public async Task A_cached_token_is_good_up_to_exp_plus_the_skew_and_refused_a_millisecond_later()
    {
        var clock = new ManualTimeProvider(Start);
        var validator = Validator(o => o.PublisherJwtKey = PublisherKey, clock);
        var exp = Start.AddMinutes(1);
        var token = Publisher(exp);

        Assert.True((await validator.ValidateAsync(token)).IsValid);
        clock.Advance(exp + Skew - clock.GetUtcNow());
        var atTheEdge = await validator.ValidateAsync(token);
        clock.Advance(TimeSpan.FromMilliseconds(1));
        var past = await validator.ValidateAsync(token);
        var again = await validator.ValidateAsync(token);

        Assert.True(atTheEdge.IsValid, atTheEdge.Error);
        Assert.Equal("token expired", past.Error);
        Assert.Equal("token expired", again.Error);
    }

    [Fact]
    public async Task A_token_cached_just_before_its_exp_is_not_kept_for_the_cache_lifetime()
    {
        // The cache keeps a token for up to a minute; one validated 1 s before exp must not ride that minute.
        var clock = new ManualTimeProvider(Start);
        var validator = Validator(o => o.PublisherJwtKey = PublisherKey, clock);
        var token = Publisher(Start.AddSeconds(1));

        Assert.True((await validator.ValidateAsync(token)).IsValid);
        clock.Advance(TimeSpan.FromSeconds(7));

        Assert.Equal("token expired", (await validator.ValidateAsync(token)).Error);
    }

    [Fact]
    public async Task A_fresh_token_gets_the_same_skew_on_both_sides_of_its_lifetime()
    {
        var validator = Validator(o => o.PublisherJwtKey = PublisherKey, new ManualTimeProvider(Start));

        var expiredWithinSkew = await validator.ValidateAsync(Publisher(Start - Skew));
        var expiredPastSkew = await validator.ValidateAsync(Publisher(Start - Skew - TimeSpan.FromSeconds(1)));
        var notYetWithinSkew = await validator.ValidateAsync(Publisher(Start.AddHours(1), nbf: Start + Skew));
        var notYetPastSkew = await validator.ValidateAsync(Publisher(Start.AddHours(1), nbf: Start + Skew + TimeSpan.FromSeconds(1)));

        Assert.True(expiredWithinSkew.IsValid, expiredWithinSkew.Error);
        Assert.Equal("token expired", expiredPastSkew.Error);
        Assert.True(notYetWithinSkew.IsValid, notYetWithinSkew.Error);
        Assert.Equal("token not yet valid", notYetPastSkew.Error);
    }

    [Fact]
    public async Task The_hub_refuses_a_publisher_token_it_accepted_once_the_apps_clock_passes_its_exp()
    {
        // Starts at the real time: a validator that ignored the app's clock would accept the first publish too.
        var clock = new MovableClock(DateTimeOffset.UtcNow);
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton<TimeProvider>(clock);
        builder.Services.AddHerald(o => o.PublisherJwtKey = TestHub.Key);
        var app = builder.Build();
        app.MapHerald();
        await app.StartAsync().WaitAsync(TimeSpan.FromSeconds(30));
        await using var _ = app;
        using var client = new HttpClient { BaseAddress = new Uri(Herald.Cli.HubServer.Addresses(app).First()), Timeout = TimeSpan.FromSeconds(30) };
        var token = HandmadeHmac(
            "HS256", System.Text.Encoding.UTF8.GetBytes(TestHub.Key), Payload("""{"publish":["*"]}""", clock.GetUtcNow().AddMinutes(1).ToUnixTimeSeconds()));

        var first = await PublishAsync(client, token);
        var second = await PublishAsync(client, token);
        clock.Advance(TimeSpan.FromMinutes(1) + Skew + TimeSpan.FromSeconds(1));
        var late = await PublishAsync(client, token);

        Assert.Equal(HttpStatusCode.OK, first.Status);
        Assert.Equal(HttpStatusCode.OK, second.Status);
        Assert.Equal(HttpStatusCode.Unauthorized, late.Status);
        Assert.Equal("invalid publisher token: token expired", late.Body.Trim());
    }

    private static async Task<(HttpStatusCode Status, string Body)> PublishAsync(HttpClient client, string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/.well-known/mercure")
        {
            Content = new FormUrlEncodedContent([new("topic", "https://example.com/expiry"), new("data", "x")]),
        };
        request.Headers.Authorization = new("Bearer", token);
        using var response = await client.SendAsync(request).WaitAsync(TimeSpan.FromSeconds(30));
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>A clock read from request threads while the test moves it, so its time is one atomic value.</summary>
    private sealed class MovableClock(DateTimeOffset start) : TimeProvider
    {
        private long _ticks = start.UtcTicks;

        public override DateTimeOffset GetUtcNow() => new(Interlocked.Read(ref _ticks), TimeSpan.Zero);

        public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
    }
}
