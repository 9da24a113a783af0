using System.Text;
using Herald.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Herald.Tests.Hardening;

/// <summary>
/// Nothing a subscriber sends, and nothing history holds, can make the <c>Last-Event-ID</c> response header throw:
/// a resume is answered 200 (or refused with a 4xx), never 500, on the direct path and on Kestrel's.
/// </summary>
public sealed class LastEventIdHeaderTests
{
    /// <summary>Raw header lines: UTF-8 and Latin-1 non-ASCII bytes, C0 controls, DEL, a bidi override.</summary>
    public static TheoryData<string> HostileHeaders => new()
    {
        "Last-Event-ID: \u00c3\u00bc-1",
        "Last-Event-ID: \u00fc-1",
        "Last-Event-ID: a\u0001b",
        "Last-Event-ID: a\u007fb",
        "Last-Event-ID: \u00e2\u0080\u00ae",
    };

    /// <summary>The same values in the query (percent-encoded, so they reach the hub decoded).</summary>
    public static TheoryData<string> HostileQueries => new() { "%C3%BC-1", "%FC-1", "a%01b", "a%0Ab", "%E2%80%AE", "%ED%A0%80" };

    [Theory]
    [MemberData(nameof(HostileHeaders))]
    public async Task A_hostile_Last_Event_ID_header_is_never_answered_500(string line)
    {
        // Each character stands for one byte (Latin-1), so the request carries exactly these bytes.
        var header = Encoding.Latin1.GetBytes(line);
        await ForBothPaths(async (baseUrl, _) =>
        {
            var status = await HardeningHubs.StatusOfRawRequestAsync(baseUrl, HardeningHubs.SubscribeHead(baseUrl, header));
            Assert.True(status is 0 or 200 or (>= 400 and < 500), $"answered {status}");
        });
    }

    [Theory]
    [MemberData(nameof(HostileQueries))]
    public async Task A_hostile_lastEventID_query_is_never_answered_500(string escaped)
    {
        await ForBothPaths(async (baseUrl, _) =>
        {
            var status = await HardeningHubs.StatusOfRawRequestAsync(baseUrl, HardeningHubs.SubscribeHead(baseUrl, query: "&lastEventID=" + escaped));
            Assert.True(status is 200 or (>= 400 and < 500), $"answered {status}");
        });
    }

    [Fact]
    public async Task An_id_in_history_that_a_header_cannot_carry_does_not_break_resuming()
    {
        // History written before ids were checked (or by a store the app fills itself) may hold such an id.
        await ForBothPaths(async (baseUrl, services) =>
        {
            var store = services.GetRequiredService<Herald.Mercure.MercureHub>().Store;
            await store.AppendAsync(new Update { Topics = ["t"], Data = "old", EventId = "\u00fc-1" }, CancellationToken.None).AsTask().WaitAsync(TimeSpan.FromSeconds(30));

            // Unknown id: the newest is that one. Known id, named in the query: it is that one.
            Assert.Equal(200, await HardeningHubs.StatusOfRawRequestAsync(baseUrl, HardeningHubs.SubscribeHead(baseUrl, "Last-Event-ID: unknown"u8.ToArray())));
            Assert.Equal(200, await HardeningHubs.StatusOfRawRequestAsync(baseUrl, HardeningHubs.SubscribeHead(baseUrl, query: "&lastEventID=%C3%BC-1")));
        });
    }

    /// <summary>Runs <paramref name="check"/> against herald serve's app (direct path) and a Kestrel-only hub.</summary>
    private static async Task ForBothPaths(Func<string, IServiceProvider, Task> check)
    {
        await using (var direct = await TestHub.StartAsync(new Dictionary<string, string?> { ["Herald:Anonymous"] = "true" }))
        {
            await check(direct.BaseUrl, direct.App.Services);
        }

        var (app, baseUrl) = await HardeningHubs.StartKestrelOnlyAsync();
        await using (app)
        {
            await check(baseUrl, app.Services);
        }
    }
}
