using System.Text.Json;
using Herald.Tests.Infrastructure;

namespace Herald.Tests.Client;

/// <summary>
/// A third-party client, the npm package <c>eventsource</c> (tests/node/resume.mjs), against the real hub: after the
/// hub ends the stream it reconnects with <c>Last-Event-ID</c> and gets what it missed from the hub's history.
/// </summary>
public sealed class NodeEventSourceTests
{
    private const string Topic = "https://example.com/books/1";

    [Fact]
    public async Task The_npm_eventsource_client_resumes_after_the_hub_ends_the_stream_and_sees_every_update_once_in_order()
    {
        var project = await NodeProject.InstallAsync();
        var clock = new SkippingClock();
        await using var hub = await TestHub.StartAsync(new Dictionary<string, string?> { ["Herald:WriteTimeout"] = "00:10:00" }, clock);
        var published = new List<string>();
        const int Count = 9;

        await using var node = ChildProcess.Start(
            "node",
            [Path.Combine(project, "resume.mjs"), hub.HubUrl, Topic, $"{Count}"],
            new Dictionary<string, string?> { ["HERALD_TOKEN"] = TestHub.SubscriberToken() },
            project);

        Assert.Equal(("connect", 1, null), Connect(await NextEventAsync(node)));
        Assert.Equal("open", Kind(await NextEventAsync(node)));
        for (var i = 0; i < 3; i++)
        {
            published.Add(await hub.PublishAsync(Topic, $"before-{i}"));
        }

        // All three arrive on the first stream; then the hub's clock is skipped past the write timeout, which ends
        // the stream there (not at a moment a slow machine might miss), and the client asks to reconnect, and waits.
        foreach (var id in published.ToList())
        {
            var message = await NextEventAsync(node);
            Assert.Equal("message", Kind(message));
            Assert.Equal(id, message.GetProperty("id").GetString());
        }

        clock.Skip(TimeSpan.FromMinutes(11));
        Assert.Equal("error", Kind(await NextEventAsync(node)));
        Assert.Equal(("connect", 2, published[^1]), Connect(await NextEventAsync(node)));

        // Published while it is away: only the hub's history can deliver these.
        for (var i = 0; i < 3; i++)
        {
            published.Add(await hub.PublishAsync(Topic, $"away-{i}"));
        }

        await node.WriteLineAsync("go");
        for (var i = 0; i < 3; i++)
        {
            published.Add(await hub.PublishAsync(Topic, $"after-{i}"));
        }

        // Any later recycling of the stream is let through at once; the script ends with the ids it saw.
        JsonElement result;
        while (!(result = await NextEventAsync(node)).TryGetProperty("ids", out _))
        {
            if (Kind(result) == "connect")
            {
                await node.WriteLineAsync("go");
            }
        }

        Assert.Equal(published, result.GetProperty("ids").EnumerateArray().Select(id => id.GetString()));
        await node.WaitForExitAsync();
        Assert.Equal(0, node.ExitCode);
    }

    private static async Task<JsonElement> NextEventAsync(ChildProcess node)
    {
        var line = await node.NextLineAsync();
        try
        {
            return JsonDocument.Parse(line).RootElement.Clone();
        }
        catch (JsonException)
        {
            Assert.Fail($"resume.mjs printed something that is not JSON: {line}");
            throw;
        }
    }

    private static string? Kind(JsonElement line) => line.TryGetProperty("event", out var kind) ? kind.GetString() : null;

    private static (string?, int, string?) Connect(JsonElement line) =>
        (Kind(line), line.GetProperty("n").GetInt32(), line.GetProperty("lastEventId").GetString());
}
