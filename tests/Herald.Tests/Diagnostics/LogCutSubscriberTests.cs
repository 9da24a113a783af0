using System.Net;
using Herald.Security;
using Herald.Tests.Cluster;
using Herald.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Herald.Tests.Diagnostics;

/// <summary>
/// A stream the hub ends (here: the token expired, the write timeout passed) is one structured line saying why and
/// from where; a client that leaves is none. The hub's clock is skipped ahead instead of waiting.
/// </summary>
public sealed class LogCutSubscriberTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [Theory]
    [InlineData("token expired")]
    [InlineData("write timeout")]
    public async Task A_subscriber_cut_by_a_deadline_is_logged_with_why(string why)
    {
        var log = new LogCapture();
        var clock = new SkippingClock();
        await using var node = await ClusterNode.StartAsync(
            new Dictionary<string, string?> { ["Herald:DataDir"] = string.Empty, ["Herald:WriteTimeout"] = "00:10:00" },
            services => services.AddSingleton<TimeProvider>(clock).AddSingleton<ILoggerProvider>(log));

        var lifetime = why == "token expired" ? TimeSpan.FromMinutes(5) : TimeSpan.FromHours(1);
        var token = TokenIssuer.Create(TestHub.Key, null, ["*"], lifetime);
        using var request = new HttpRequestMessage(HttpMethod.Get, node.HubUrl + "?topic=*");
        request.Headers.Authorization = new("Bearer", token);
        using var response = await node.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).WaitAsync(Deadline);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        // The headers may come before the stream's deadline is set; its first bytes (the opening comment) come after.
        await using var body = await response.Content.ReadAsStreamAsync().WaitAsync(Deadline);
        Assert.True(await body.ReadAsync(new byte[1]).AsTask().WaitAsync(Deadline) > 0);

        // Past the token's expiry (5 min) or the write timeout (10 min), whichever this case is about.
        clock.Skip(why == "token expired" ? TimeSpan.FromMinutes(6) : TimeSpan.FromMinutes(11));
        var until = DateTime.UtcNow + Deadline;
        while (log.WithId(610).Count == 0)
        {
            Assert.True(DateTime.UtcNow < until, "no line for the cut subscriber (event 610)");
            await Task.Delay(50);
        }

        var cut = Assert.Single(log.WithId(610));
        Assert.Equal(LogLevel.Information, cut.Level);
        Assert.Equal(why, cut.Properties["Why"]);
        Assert.Equal("127.0.0.1", cut.Properties["RemoteAddress"]);
        Assert.All(log.Entries, e => Assert.DoesNotContain(token, e.Message, StringComparison.Ordinal));
    }
}
