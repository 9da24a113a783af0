using System.Net;
using System.Text.Json;
using Herald.Security;
using Microsoft.AspNetCore.Http;
using Herald.Tests.Infrastructure;
using Microsoft.Extensions.Logging;

namespace Herald.Tests.Diagnostics;

/// <summary>
/// One structured line per refused request (reason, status, remote address; never the token), budgeted so a flood of
/// bad requests cannot flood the log, and JSON console output from a real <c>herald serve</c> process.
/// </summary>
public sealed class LogTests
{
    private const string Topic = "https://example.com/logs";
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [Theory]
    [InlineData("flag")]
    [InlineData("environment")]
    public async Task Herald_serve_logs_a_refused_publish_as_one_json_line_without_the_token(string how)
    {
        var dataDir = Path.Combine(Path.GetTempPath(), "herald-tests", Guid.NewGuid().ToString("N"));
        var environment = new Dictionary<string, string>();
        string[] args = [];
        if (how == "flag")
        {
            args = ["--log-format", "json"];
        }
        else
        {
            environment["Logging__Console__FormatterName"] = "json";
        }

        await using var hub = await HubProcess.StartAsync(dataDir, withKey: true, environment, args);
        using var client = new HttpClient { Timeout = Deadline };

        // Signed with a key the hub does not have: refused 401 for the token, which travels in the header and the cookie.
        var token = TokenIssuer.Create("some-other-key-0123456789-0123456789-0123", ["*"], null, TimeSpan.FromHours(1));
        using var request = new HttpRequestMessage(HttpMethod.Post, hub.HubUrl)
        {
            Content = new FormUrlEncodedContent([new("topic", Topic), new("data", "x")]),
        };
        request.Headers.Authorization = new("Bearer", token);
        using var response = await client.SendAsync(request).WaitAsync(Deadline);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);

        // The console logger writes on its own thread: wait for the line.
        JsonElement refusal = default;
        var until = DateTime.UtcNow + Deadline;
        while (!TryFindRefusal(hub.Output, out refusal))
        {
            Assert.True(DateTime.UtcNow < until, "no refusal line (event 607) in: " + string.Join('\n', hub.Output));
            await Task.Delay(100);
        }

        var state = refusal.GetProperty("State");
        Assert.Equal("Information", refusal.GetProperty("LogLevel").GetString());
        Assert.Equal("POST", state.GetProperty("Method").GetString());
        Assert.Equal("/.well-known/mercure", state.GetProperty("Path").GetString());
        Assert.Equal("127.0.0.1", state.GetProperty("RemoteAddress").GetString());
        Assert.Equal(401, state.GetProperty("Status").GetInt32());
        Assert.StartsWith("invalid publisher token", state.GetProperty("Reason").GetString(), StringComparison.Ordinal);

        // Not the token, nor any of its three parts (a signature alone would still be a secret to keep out of logs).
        var output = string.Join('\n', hub.Output);
        Assert.DoesNotContain(token, output, StringComparison.Ordinal);
        foreach (var part in token.Split('.'))
        {
            Assert.DoesNotContain(part, output, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void A_refused_path_is_logged_cut_and_without_control_characters()
    {
        // A decoded %0A in a path must not start a forged line in the plain console format; a 256 KiB path is cut.
        Assert.Equal("/.well-known/mercure?x?y", Herald.Mercure.RefusalLog.Printable("/.well-known/mercure\nx\u0085y"));
        var cut = Herald.Mercure.RefusalLog.Printable("/" + new string('a', 100_000));
        Assert.Equal(Herald.Mercure.RefusalLog.MaxReasonLength + 1, cut.Length);
        Assert.EndsWith("…", cut, StringComparison.Ordinal);
        Assert.Equal("/plain/path", Herald.Mercure.RefusalLog.Printable("/plain/path"));
    }

    [Fact]
    public void Refusals_beyond_the_budget_of_a_window_go_to_debug_and_are_counted_once()
    {
        var log = new LogCapture();
        using var factory = LoggerFactory.Create(b => b.AddProvider(log).SetMinimumLevel(LogLevel.Debug));
        var clock = new FrozenClock();
        var refusals = new Herald.Mercure.RefusalLog(factory.CreateLogger<Herald.Mercure.RefusalLog>(), clock);
        var context = new DefaultHttpContext();
        context.Request.Method = "POST";
        context.Request.Path = "/.well-known/mercure";
        context.Request.QueryString = new QueryString("?authorization=secret-in-the-query");
        context.Connection.RemoteIpAddress = IPAddress.Parse("192.0.2.7");

        // A flood within one window: the budget at Information, the rest at Debug.
        var flood = Herald.Mercure.RefusalLog.Budget * 3;
        for (var i = 0; i < flood; i++)
        {
            refusals.Refused(context, 401, "a publisher token is required (Authorization: Bearer …)");
        }

        Assert.Equal(Herald.Mercure.RefusalLog.Budget, log.WithId(607).Count);
        Assert.Equal(flood - Herald.Mercure.RefusalLog.Budget, log.WithId(608).Count);
        Assert.Empty(log.WithId(609));

        // The next window says once how many went to Debug only, and logs its own refusals at Information again.
        clock.Advance(Herald.Mercure.RefusalLog.Window);
        refusals.Refused(context, 403, new string('x', 10_000));

        var counted = Assert.Single(log.WithId(609));
        Assert.Equal(LogLevel.Warning, counted.Level);
        Assert.Equal((long)(flood - Herald.Mercure.RefusalLog.Budget), counted.Properties["Count"]);
        var last = log.WithId(607)[^1];
        Assert.Equal(403, last.Properties["Status"]);
        Assert.Equal("192.0.2.7", last.Properties["RemoteAddress"]);
        Assert.Equal("/.well-known/mercure", last.Properties["Path"]);
        Assert.True(((string)last.Properties["Reason"]!).Length <= Herald.Mercure.RefusalLog.MaxReasonLength + 1);
        Assert.All(log.Entries, e => Assert.DoesNotContain("secret-in-the-query", e.Message, StringComparison.Ordinal));
    }

    /// <summary>A clock that moves only when told: every refusal lands in the window the test means.</summary>
    private sealed class FrozenClock : TimeProvider
    {
        private long _timestamp = 1_000_000;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => _timestamp;

        public void Advance(TimeSpan by) => _timestamp += by.Ticks;
    }

    private static bool TryFindRefusal(IReadOnlyList<string> lines, out JsonElement refusal)
    {
        foreach (var line in lines)
        {
            if (!line.StartsWith('{'))
            {
                continue;
            }

            using var json = JsonDocument.Parse(line);
            if (json.RootElement.GetProperty("EventId").GetInt32() == 607)
            {
                refusal = json.RootElement.Clone();
                return true;
            }
        }

        refusal = default;
        return false;
    }
}
