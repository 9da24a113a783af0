using System.Net;
using System.Text.Json;
using Herald.Dispatch;
using Herald.Mercure;
using Herald.Security;
using Herald.Tests.Infrastructure;

namespace Herald.Tests.Mercure;

/// <summary>
/// Streams opened together do not end together: the write timeout and a token's expiry are each spread over 80–100 % of
/// their length, and a token's never past its <c>exp</c>. The hub's clock stands still while the streams open, so they
/// all open at the same instant and any difference between their deadlines is the spread.
/// </summary>
public sealed class DeadlineSpreadTests
{
    private const int Streams = 50;

    [Fact]
    public void A_spread_length_lies_within_80_to_100_percent_and_varies()
    {
        var random = new Random(17);
        var lengths = Enumerable.Range(0, 1000).Select(_ => SubscribeEndpoint.Spread(600_000, random)).ToList();

        Assert.All(lengths, l => Assert.InRange(l, 480_000, 600_000));
        Assert.True(lengths.Distinct().Count() > 900, "the lengths should differ");
        Assert.Equal(0, SubscribeEndpoint.Spread(0, random));
    }

    [Fact]
    public void A_token_deadline_is_never_later_than_exp_even_when_the_write_timeout_is_longer()
    {
        var clock = new StandingClock();
        var exp = clock.GetUtcNow().AddMinutes(5);
        var now = HeartbeatTimer.Now(clock);
        var random = new Random(17);
        for (var i = 0; i < 1000; i++)
        {
            var (ticks, reason) = SubscribeEndpoint.Deadline(clock, exp, TimeSpan.FromHours(1), random);
            Assert.Equal(CloseReason.TokenExpired, reason);
            Assert.InRange(ticks - now, 240_000, 300_000);
        }
    }

    [Fact]
    public async Task Streams_opened_at_one_instant_get_write_timeouts_spread_over_80_to_100_percent()
    {
        var clock = new StandingClock();
        await using var hub = await TestHub.StartAsync(new Dictionary<string, string?> { ["Herald:Anonymous"] = "true", ["Herald:WriteTimeout"] = "00:10:00" }, clock);
        var now = HeartbeatTimer.Now(clock);
        var readers = await OpenAsync(hub, token: null);
        try
        {
            var subscribers = hub.Hub.Dispatcher.Snapshot();
            Assert.Equal(Streams, subscribers.Count);
            Assert.All(subscribers, s => Assert.Equal(CloseReason.WriteTimeout, s.DeadlineReason));
            Assert.All(subscribers, s => Assert.InRange(s.DeadlineTicks - now, 480_000, 600_000));
            Assert.True(subscribers.Select(s => s.DeadlineTicks).Distinct().Count() > 1, "the deadlines should differ");
        }
        finally
        {
            await DisposeAllAsync(readers);
        }
    }

    [Fact]
    public async Task Streams_of_one_token_end_spread_before_its_exp_and_none_outlives_it()
    {
        var clock = new StandingClock();
        await using var hub = await TestHub.StartAsync(new Dictionary<string, string?> { ["Herald:Anonymous"] = "false" }, clock);
        var token = TokenIssuer.Create(TestHub.Key, null, ["*"], TimeSpan.FromMinutes(10));
        var untilExp = DateTimeOffset.FromUnixTimeSeconds(Exp(token)) - clock.GetUtcNow();
        var now = HeartbeatTimer.Now(clock);
        var readers = await OpenAsync(hub, token);
        try
        {
            var subscribers = hub.Hub.Dispatcher.Snapshot();
            var life = (long)untilExp.TotalMilliseconds;
            Assert.All(subscribers, s => Assert.Equal(CloseReason.TokenExpired, s.DeadlineReason));
            Assert.All(subscribers, s => Assert.InRange(s.DeadlineTicks - now, life * 8 / 10, life));
            Assert.True(subscribers.Select(s => s.DeadlineTicks).Distinct().Count() > 1, "the deadlines should differ");

            // A millisecond past exp every stream has ended: none outlives its token.
            clock.Skip(untilExp + TimeSpan.FromMilliseconds(1));
            foreach (var reader in readers)
            {
                Assert.True(await reader.EndsWithinAsync(30_000), "a stream outlived its token's exp");
            }

            await TestHub.Eventually(() => hub.Hub.SubscriberCount == 0, "every subscriber removed");
        }
        finally
        {
            await DisposeAllAsync(readers);
        }
    }

    private static async Task<List<SseReader>> OpenAsync(TestHub hub, string? token)
    {
        var readers = new List<SseReader>(Streams);
        try
        {
            for (var i = 0; i < Streams; i++)
            {
                var reader = await hub.SubscribeAsync("topic=t", token);
                readers.Add(reader);
                Assert.Equal(HttpStatusCode.OK, reader.Response.StatusCode);
            }

            // A subscriber's deadline is set before it is registered.
            await TestHub.Eventually(() => hub.Hub.SubscriberCount == Streams, "every subscriber registered");
            return readers;
        }
        catch
        {
            await DisposeAllAsync(readers);
            throw;
        }
    }

    private static async Task DisposeAllAsync(List<SseReader> readers)
    {
        foreach (var reader in readers)
        {
            await reader.DisposeAsync();
        }
    }

    private static long Exp(string token)
    {
        var payload = token.Split('.')[1].Replace('-', '+').Replace('_', '/');
        payload = payload.PadRight(payload.Length + ((4 - (payload.Length % 4)) % 4), '=');
        using var json = JsonDocument.Parse(Convert.FromBase64String(payload));
        return json.RootElement.GetProperty("exp").GetInt64();
    }

    /// <summary>
    /// A clock that stands still until the test moves it (wall time and timestamps alike): streams opened one after
    /// another all open at the same instant of the hub's clock. Timers still run on real time (the base class's).
    /// </summary>
    private sealed class StandingClock : TimeProvider
    {
        private readonly DateTimeOffset _start = TimeProvider.System.GetUtcNow();
        private readonly long _startTimestamp = TimeProvider.System.GetTimestamp();
        private long _offsetTicks;

        public override long TimestampFrequency => TimeProvider.System.TimestampFrequency;

        public override DateTimeOffset GetUtcNow() => _start + TimeSpan.FromTicks(Interlocked.Read(ref _offsetTicks));

        public override long GetTimestamp()
            => _startTimestamp + (long)(TimeSpan.FromTicks(Interlocked.Read(ref _offsetTicks)).TotalSeconds * TimestampFrequency);

        public void Skip(TimeSpan by) => Interlocked.Add(ref _offsetTicks, by.Ticks);
    }
}
