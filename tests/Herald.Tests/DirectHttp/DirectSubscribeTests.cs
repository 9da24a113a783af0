using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Herald.DirectHttp;
using Herald.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Herald.Tests.DirectHttp;

/// <summary>
/// Subscriptions served straight from the connection (<c>UseHeraldSubscriptions</c>), checked byte by byte over raw
/// sockets: the response the hub writes itself, its chunk framing, and every way a connection can go back to
/// Kestrel or end. A 200 carrying <c>Connection: close</c> is the hub's own; Kestrel does not send it for these requests.
/// </summary>
public sealed class DirectSubscribeTests
{
    private const string Topic = "https://example.com/direct";
    private static readonly string TopicQuery = "topic=" + Uri.EscapeDataString(Topic);

    private static Task<TestHub> Start(bool anonymous = true, params (string Key, string Value)[] more)
    {
        var settings = new Dictionary<string, string?> { ["Herald:Anonymous"] = anonymous ? "true" : "false" };
        foreach (var (key, value) in more)
        {
            settings[key] = value;
        }

        return TestHub.StartAsync(settings);
    }

    private static string Subscribe(TestHub hub, string query = "", string headers = "", string version = "HTTP/1.1")
    {
        var uri = new Uri(hub.HubUrl);
        var target = query.Length == 0 ? uri.AbsolutePath : uri.AbsolutePath + "?" + query;
        return $"GET {target} {version}\r\nHost: {uri.Authority}\r\n{headers}\r\n";
    }

    [Fact]
    public async Task The_hub_writes_an_event_stream_head_with_chunking_and_connection_close()
    {
        await using var hub = await Start(more: ("Herald:CorsOrigins:0", "https://app.example.com"));
        await using var connection = await RawConnection.OpenAsync(hub.BaseUrl);

        await connection.SendAsync(Subscribe(hub, TopicQuery, "Origin: https://app.example.com\r\n"));
        var head = await connection.ReadHeadAsync();

        Assert.Equal("HTTP/1.1 200 OK", head.StatusLine);
        Assert.Equal("text/event-stream", head.Single("Content-Type"));
        Assert.Equal("chunked", head.Single("Transfer-Encoding"));
        Assert.Equal("close", head.Single("Connection"));
        Assert.Equal("no-cache", head.Single("Cache-Control"));
        Assert.Equal("no", head.Single("X-Accel-Buffering"));
        Assert.Null(head.Get("Content-Length"));
        Assert.NotNull(head.Get("Date"));
        Assert.Equal("https://app.example.com", head.Single("Access-Control-Allow-Origin"));
        Assert.Equal("true", head.Single("Access-Control-Allow-Credentials"));
        Assert.Equal("Last-Event-ID, Mercure-Last-Event-ID, WWW-Authenticate, Retry-After", head.Single("Access-Control-Expose-Headers"));
        Assert.Null(head.Get("Last-Event-ID"));
        Assert.Equal(":\n\n", Encoding.ASCII.GetString((await connection.ReadChunkAsync())!));
    }

    [Fact]
    public async Task Another_origin_gets_no_CORS_headers_and_a_private_stream_is_no_store()
    {
        await using var hub = await Start(anonymous: false, ("Herald:CorsOrigins:0", "https://app.example.com"));
        await using var connection = await RawConnection.OpenAsync(hub.BaseUrl);

        var token = TestHub.SubscriberToken(Topic);
        await connection.SendAsync(Subscribe(hub, TopicQuery, $"Origin: https://evil.example.com\r\nAuthorization: Bearer {token}\r\n"));
        var head = await connection.ReadHeadAsync();

        Assert.Equal(200, head.Status);
        Assert.Equal("close", head.Single("Connection"));
        Assert.Equal("no-store", head.Single("Cache-Control"));
        Assert.Null(head.Get("Access-Control-Allow-Origin"));
    }

    [Fact]
    public async Task A_resumed_stream_names_the_event_it_resumes_after_and_replays_what_followed()
    {
        await using var hub = await Start();
        var first = await hub.Hub.PublishAsync(new Update { Topics = [Topic], Data = "one" });
        var second = await hub.Hub.PublishAsync(new Update { Topics = [Topic], Data = "two" });
        await using var connection = await RawConnection.OpenAsync(hub.BaseUrl);

        await connection.SendAsync(Subscribe(hub, TopicQuery, $"Last-Event-ID: {first}\r\n"));
        var head = await connection.ReadHeadAsync();
        var events = new ChunkedEvents(connection);

        Assert.Equal(200, head.Status);
        Assert.Equal("close", head.Single("Connection"));
        Assert.Equal(first, head.Single("Last-Event-ID"));
        var replayed = await events.NextAsync();
        Assert.Equal(("two", second), (replayed.Data, replayed.Id));
    }

    [Fact]
    public async Task Resuming_from_the_query_with_an_escaped_id_is_decoded_once()
    {
        await using var hub = await Start();
        var first = await hub.Hub.PublishAsync(new Update { Topics = [Topic], EventId = "id with spaces/and?query", Data = "one" });
        await hub.Hub.PublishAsync(new Update { Topics = [Topic], Data = "two" });
        await using var connection = await RawConnection.OpenAsync(hub.BaseUrl);

        await connection.SendAsync(Subscribe(hub, TopicQuery + "&lastEventID=" + Uri.EscapeDataString(first)));
        var head = await connection.ReadHeadAsync();

        Assert.Equal("close", head.Single("Connection"));
        Assert.Equal("id with spaces/and?query", head.Single("Last-Event-ID"));
        Assert.Equal("two", (await new ChunkedEvents(connection).NextAsync()).Data);
    }

    [Fact]
    public async Task Chunks_are_well_formed_and_carry_every_event_in_order()
    {
        await using var hub = await Start();
        await using var connection = await RawConnection.OpenAsync(hub.BaseUrl);
        await connection.SendAsync(Subscribe(hub, TopicQuery));
        Assert.Equal("chunked", (await connection.ReadHeadAsync()).Single("Transfer-Encoding"));
        await TestHub.Eventually(() => hub.Hub.SubscriberCount == 1, "the subscriber");

        var ids = new List<string>();
        for (var i = 0; i < 50; i++)
        {
            // Sizes across hex digit boundaries: 1, 2 and 3+ digit chunk sizes.
            ids.Add(await hub.Hub.PublishAsync(new Update { Topics = [Topic], Data = i + ":" + new string('d', i * 37), EventType = "t" + i }));
        }

        var events = new ChunkedEvents(connection);
        for (var i = 0; i < 50; i++)
        {
            var item = await events.NextAsync();
            Assert.Equal(i + ":" + new string('d', i * 37), item.Data);
            Assert.Equal(ids[i], item.Id);
            Assert.Equal("t" + i, item.Type);
        }
    }

    [Fact]
    public async Task A_request_that_is_not_ours_goes_to_Kestrel_and_a_subscription_after_it_on_the_same_connection_too()
    {
        await using var hub = await Start();
        await using var connection = await RawConnection.OpenAsync(hub.BaseUrl);
        var authority = new Uri(hub.BaseUrl).Authority;

        await connection.SendAsync($"GET /.well-known/mercure/none HTTP/1.1\r\nHost: {authority}\r\n\r\n");
        var first = await connection.ReadHeadAsync();
        Assert.Equal(404, first.Status);
        Assert.Null(first.Get("Connection"));
        await connection.ReadBodyAsync(first);

        // Kestrel keeps the connection; the hub no longer looks at it, and Kestrel serves the subscription.
        await connection.SendAsync(Subscribe(hub, TopicQuery));
        var second = await connection.ReadHeadAsync();
        Assert.Equal(200, second.Status);
        Assert.Equal("text/event-stream", second.Single("Content-Type"));
        Assert.Equal("chunked", second.Single("Transfer-Encoding"));
        Assert.Null(second.Get("Connection"));
        await TestHub.Eventually(() => hub.Hub.SubscriberCount == 1, "the subscriber");

        await hub.Hub.PublishAsync(new Update { Topics = [Topic], Data = "through kestrel" });
        Assert.Equal("through kestrel", (await new ChunkedEvents(connection).NextAsync()).Data);
    }

    [Fact]
    public async Task A_plain_page_request_is_answered_by_Kestrel_and_the_connection_stays_open()
    {
        await using var hub = await Start();
        await using var connection = await RawConnection.OpenAsync(hub.BaseUrl);
        var authority = new Uri(hub.BaseUrl).Authority;

        for (var i = 0; i < 2; i++)
        {
            await connection.SendAsync($"GET /favicon.svg HTTP/1.1\r\nHost: {authority}\r\n\r\n");
            var head = await connection.ReadHeadAsync();
            Assert.Equal(200, head.Status);
            Assert.Null(head.Get("Connection"));
            Assert.Contains("<svg", Encoding.UTF8.GetString(await connection.ReadBodyAsync(head)), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Other_methods_on_the_hub_path_go_to_Kestrel()
    {
        await using var hub = await Start(more: ("Herald:CorsOrigins:0", "https://app.example.com"));
        await using var connection = await RawConnection.OpenAsync(hub.BaseUrl);
        var authority = new Uri(hub.BaseUrl).Authority;

        await connection.SendAsync($"OPTIONS /.well-known/mercure HTTP/1.1\r\nHost: {authority}\r\nOrigin: https://app.example.com\r\nAccess-Control-Request-Method: GET\r\n\r\n");
        var preflight = await connection.ReadHeadAsync();
        Assert.Equal(204, preflight.Status);
        Assert.Null(preflight.Get("Connection"));

        var body = "topic=" + Uri.EscapeDataString(Topic) + "&data=posted";
        await connection.SendAsync($"POST /.well-known/mercure HTTP/1.1\r\nHost: {authority}\r\nAuthorization: Bearer {TestHub.PublisherToken()}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {body.Length}\r\n\r\n{body}");
        var posted = await connection.ReadHeadAsync();
        Assert.Equal(200, posted.Status);
        Assert.StartsWith("urn:uuid:", Encoding.ASCII.GetString(await connection.ReadBodyAsync(posted)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_subscription_over_HTTP_1_0_is_served_by_Kestrel()
    {
        await using var hub = await Start();
        await using var connection = await RawConnection.OpenAsync(hub.BaseUrl);

        await connection.SendAsync(Subscribe(hub, TopicQuery, version: "HTTP/1.0"));
        var head = await connection.ReadHeadAsync();

        Assert.Equal(200, head.Status);
        Assert.Equal("text/event-stream", head.Single("Content-Type"));
        Assert.Null(head.Get("Transfer-Encoding"));
        Assert.Null(head.Get("Content-Length"));
        await TestHub.Eventually(() => hub.Hub.SubscriberCount == 1, "the subscriber");

        await hub.Hub.PublishAsync(new Update { Topics = [Topic], Data = "to an old client" });
        var events = new RawEvents(connection);
        Assert.Equal("to an old client", (await events.NextAsync()).Data);
    }

    [Fact]
    public async Task A_head_sent_one_byte_at_a_time_is_still_served_by_the_hub()
    {
        await using var hub = await Start();
        await using var connection = await RawConnection.OpenAsync(hub.BaseUrl);

        await connection.SendBytewiseAsync(Subscribe(hub, TopicQuery, "Accept: text/event-stream\r\n"));
        var head = await connection.ReadHeadAsync();

        Assert.Equal(200, head.Status);
        Assert.Equal("close", head.Single("Connection"));
        await TestHub.Eventually(() => hub.Hub.SubscriberCount == 1, "the subscriber");
        await hub.Hub.PublishAsync(new Update { Topics = [Topic], Data = "slowly" });
        Assert.Equal("slowly", (await new ChunkedEvents(connection).NextAsync()).Data);
    }

    [Fact]
    public async Task A_request_that_is_not_ours_sent_one_byte_at_a_time_is_still_answered_by_Kestrel()
    {
        await using var hub = await Start();
        await using var connection = await RawConnection.OpenAsync(hub.BaseUrl);
        var authority = new Uri(hub.BaseUrl).Authority;

        // Starts like a subscription ("GET /"), so the hub waits for the whole head before handing it over.
        await connection.SendBytewiseAsync($"GET /favicon.svg HTTP/1.1\r\nHost: {authority}\r\n\r\n");
        var head = await connection.ReadHeadAsync();

        Assert.Equal(200, head.Status);
        Assert.Contains("<svg", Encoding.UTF8.GetString(await connection.ReadBodyAsync(head)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_request_with_bare_line_feeds_is_answered_by_Kestrel_not_left_waiting()
    {
        await using var hub = await Start();
        await using var connection = await RawConnection.OpenAsync(hub.BaseUrl);
        var authority = new Uri(hub.BaseUrl).Authority;

        await connection.SendAsync($"GET /favicon.svg HTTP/1.1\nHost: {authority}\n\n");
        var head = await connection.ReadHeadAsync();

        // Whatever Kestrel thinks of LF line ends, it answers; the hub must not sit on the connection waiting for CRLF.
        Assert.True(head.Status is 200 or 400, head.StatusLine);
    }

    [Fact]
    public async Task A_refused_subscription_gets_a_400_with_its_reason_and_the_connection_is_closed()
    {
        await using var hub = await Start();
        await using var connection = await RawConnection.OpenAsync(hub.BaseUrl);

        await connection.SendAsync(Subscribe(hub));
        var head = await connection.ReadHeadAsync();
        var body = Encoding.UTF8.GetString(await connection.ReadBodyAsync(head));

        Assert.Equal("HTTP/1.1 400 Bad Request", head.StatusLine);
        Assert.Equal("close", head.Single("Connection"));
        Assert.Equal("text/plain; charset=utf-8", head.Single("Content-Type"));
        Assert.Equal("missing topic parameter\n", body);
        Assert.True(await connection.EndsAsync(), "the connection is closed after the answer");
    }

    [Fact]
    public async Task An_unauthorized_subscription_gets_a_401_with_its_reason_and_the_connection_is_closed()
    {
        await using var hub = await Start(anonymous: false);
        await using var connection = await RawConnection.OpenAsync(hub.BaseUrl);

        await connection.SendAsync(Subscribe(hub, TopicQuery, "Authorization: Bearer not-a-token\r\n"));
        var head = await connection.ReadHeadAsync();
        var body = Encoding.UTF8.GetString(await connection.ReadBodyAsync(head));

        Assert.Equal("HTTP/1.1 401 Unauthorized", head.StatusLine);
        Assert.Equal("close", head.Single("Connection"));
        // The RFC 6750 challenge of a token that failed validation (Mercure 1.0, "Error Responses").
        Assert.Equal($"Bearer error=\"invalid_token\", resource_metadata=\"{hub.BaseUrl}/.well-known/oauth-protected-resource/.well-known/mercure\"", head.Single("WWW-Authenticate"));
        Assert.StartsWith("invalid subscriber token: ", body, StringComparison.Ordinal);
        Assert.EndsWith("\n", body, StringComparison.Ordinal);
        Assert.Single(body.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.True(await connection.EndsAsync(), "the connection is closed after the answer");
    }

    [Fact]
    public async Task A_subscription_that_cannot_resume_while_the_store_is_down_gets_a_503_with_Retry_After_on_the_connection()
    {
        await using var redis = await Herald.Tests.Redis.RedisServer.StartAsync();
        await using var hub = await Start(more: ("Herald:Transport", redis.Url));
        var id = await hub.Hub.PublishAsync(new Update { Topics = [Topic], Data = "one" });
        await redis.KillAsync();
        await using var connection = await RawConnection.OpenAsync(hub.BaseUrl);

        // Resuming needs the store to find the id: it is down, so the client is told to come back.
        await connection.SendAsync(Subscribe(hub, TopicQuery, $"Last-Event-ID: {id}\r\n"));
        var head = await connection.ReadHeadAsync();
        var body = Encoding.UTF8.GetString(await connection.ReadBodyAsync(head));

        Assert.Equal(503, head.Status);
        Assert.Equal("close", head.Single("Connection"));
        Assert.True(int.TryParse(head.Single("Retry-After"), out var seconds) && seconds > 0, "Retry-After in seconds");
        Assert.Equal(0, hub.Hub.SubscriberCount);

        // One line that names neither Redis's address nor its client's message (those go to the log).
        Assert.Equal("history unavailable, cannot resume now: retry later\n", body);
        Assert.DoesNotContain($":{redis.Port}", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Clients_that_close_their_sockets_leave_the_hub()
    {
        await using var hub = await Start();
        var connections = new List<RawConnection>();
        for (var i = 0; i < 4; i++)
        {
            var connection = await RawConnection.OpenAsync(hub.BaseUrl);
            await connection.SendAsync(Subscribe(hub, TopicQuery));
            Assert.Equal("close", (await connection.ReadHeadAsync()).Single("Connection"));
            connections.Add(connection);
        }

        await TestHub.Eventually(() => hub.Hub.SubscriberCount == 4, "4 subscribers");
        foreach (var connection in connections)
        {
            await connection.DisposeAsync();
        }

        await TestHub.Eventually(() => hub.Hub.SubscriberCount == 0, "the count back to 0");

        // The hub still serves new subscriptions after the teardown.
        await using var again = await RawConnection.OpenAsync(hub.BaseUrl);
        await again.SendAsync(Subscribe(hub, TopicQuery));
        Assert.Equal(200, (await again.ReadHeadAsync()).Status);
        await TestHub.Eventually(() => hub.Hub.SubscriberCount == 1, "the new subscriber");
    }

    [Fact]
    public async Task A_client_that_half_closes_ends_its_subscription_and_the_connection()
    {
        await using var hub = await Start();
        await using var connection = await RawConnection.OpenAsync(hub.BaseUrl);
        await connection.SendAsync(Subscribe(hub, TopicQuery));
        Assert.Equal(200, (await connection.ReadHeadAsync()).Status);
        await TestHub.Eventually(() => hub.Hub.SubscriberCount == 1, "the subscriber");

        connection.Socket.Shutdown(SocketShutdown.Send);

        await TestHub.Eventually(() => hub.Hub.SubscriberCount == 0, "the subscriber to leave");
        Assert.True(await connection.EndsAsync(drain: true), "the hub closes its side too");
    }

    [Fact]
    public async Task A_client_that_stops_reading_is_cut_while_another_gets_every_event_in_order()
    {
        await using var hub = await Start(more: ("Herald:SubscriberQueueCapacity", "16"));

        // The stalled client: a tiny receive buffer, and it never reads after the request.
        await using var stalled = await RawConnection.OpenAsync(hub.BaseUrl, receiveBufferSize: 4096);
        await stalled.SendAsync(Subscribe(hub, TopicQuery));
        await using var reading = await RawConnection.OpenAsync(hub.BaseUrl);
        await reading.SendAsync(Subscribe(hub, TopicQuery));
        Assert.Equal("close", (await reading.ReadHeadAsync()).Single("Connection"));
        await TestHub.Eventually(() => hub.Hub.SubscriberCount == 2, "both subscribers");

        const int count = 300;
        var payload = new string('x', 32 * 1024);
        var received = 0;
        var events = new ChunkedEvents(reading);
        var reader = Task.Run(async () =>
        {
            for (var i = 0; i < count; i++)
            {
                var item = await events.NextAsync();
                Assert.Equal(i + ":" + payload, item.Data);
                Volatile.Write(ref received, i + 1);
            }
        });

        for (var i = 0; i < count; i++)
        {
            // Paced to the reading client, so only the stalled one falls behind.
            var sent = i;
            await TestHub.Eventually(() => Volatile.Read(ref received) >= sent - 8 || reader.IsFaulted, "the reader to keep up", 30_000);
            await hub.Hub.PublishAsync(new Update { Topics = [Topic], Data = i + ":" + payload });
        }

        await reader.WaitAsync(TimeSpan.FromSeconds(30));
        await TestHub.Eventually(() => hub.Hub.SubscriberCount == 1, "the stalled subscriber to be cut");
        Assert.True(await stalled.EndsAsync(drain: true), "the stalled connection is closed by the hub");
    }

    [Fact]
    public async Task One_megabyte_events_arrive_whole_and_in_order_behind_a_reader_that_starts_late()
    {
        await using var hub = await Start();
        await using var connection = await RawConnection.OpenAsync(hub.BaseUrl, receiveBufferSize: 8192);
        await connection.SendAsync(Subscribe(hub, TopicQuery));
        Assert.Equal("close", (await connection.ReadHeadAsync()).Single("Connection"));
        await TestHub.Eventually(() => hub.Hub.SubscriberCount == 1, "the subscriber");

        // Published before the client reads a byte: more than the kernel buffers on both sides take (the send
        // buffer grows to 4 MB on loopback), so writes are taken in part and their rest goes out later.
        const int count = 10;
        var datas = new List<string>();
        for (var i = 0; i < count; i++)
        {
            var data = string.Create(1024 * 1024, i, static (span, seed) =>
            {
                for (var j = 0; j < span.Length; j++)
                {
                    span[j] = (char)('a' + ((j * 7 + seed) % 26));
                }
            });
            datas.Add(data);
            await hub.Hub.PublishAsync(new Update { Topics = [Topic], Data = data });
        }

        await hub.Hub.PublishAsync(new Update { Topics = [Topic], Data = "small after" });
        var events = new ChunkedEvents(connection);
        for (var i = 0; i < count; i++)
        {
            var item = await events.NextAsync();
            Assert.Equal(datas[i].Length, item.Data.Length);
            Assert.True(datas[i] == item.Data, $"event {i} differs");
        }

        Assert.Equal("small after", (await events.NextAsync()).Data);
    }

    [Fact]
    public async Task Shutdown_ends_a_stream_with_the_last_chunk_or_a_closed_connection()
    {
        var hub = await Start();
        try
        {
            await using var connection = await RawConnection.OpenAsync(hub.BaseUrl);
            await connection.SendAsync(Subscribe(hub, TopicQuery));
            Assert.Equal("close", (await connection.ReadHeadAsync()).Single("Connection"));
            await TestHub.Eventually(() => hub.Hub.SubscriberCount == 1, "the subscriber");
            await hub.Hub.PublishAsync(new Update { Topics = [Topic], Data = "before shutdown" });
            var events = new ChunkedEvents(connection);
            Assert.Equal("before shutdown", (await events.NextAsync()).Data);

            var stopping = hub.App.StopAsync();

            // Only whole chunks, then either the last chunk and the end, or just the end: never a cut chunk.
            Assert.True(await events.EndsCleanlyAsync(), "the stream ends on a chunk boundary");
            await stopping.WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(0, hub.Hub.SubscriberCount);
        }
        finally
        {
            await hub.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_client_that_stopped_reading_does_not_hold_up_shutdown_and_gets_no_cut_event_as_whole()
    {
        var hub = await Start();
        try
        {
            var (connection, published, read) = await SubscribeBehindTenLargeEventsAsync(hub);
            await using var _ = connection;

            // The hub's socket is full and a write waits for the client: shutdown must neither wait for it (the
            // host's timeout is 30 s) nor finish the stream with a last chunk in the middle of the cut one.
            await hub.App.StopAsync().WaitAsync(TimeSpan.FromSeconds(20));
            var (events, _) = await ReadToEndAsync(connection, read);

            Assert.InRange(events.Count, 1, published.Count - 1);
            Assert.Equal(Summaries(published.Take(events.Count)), Summaries(events));
        }
        finally
        {
            await hub.DisposeAsync();
        }
    }

    [Fact]
    public async Task Shutdown_while_a_write_waits_for_a_slow_client_never_completes_a_cut_event()
    {
        var hub = await Start();
        try
        {
            var (connection, published, read) = await SubscribeBehindTenLargeEventsAsync(hub);
            await using var _ = connection;

            // The client reads while the hub stops: whatever ends the stream must not turn the cut event into a whole one.
            var stopping = hub.App.StopAsync();
            var (events, _) = await ReadToEndAsync(connection, read);
            await stopping.WaitAsync(TimeSpan.FromSeconds(30));

            Assert.NotEmpty(events);
            Assert.Equal(Summaries(published.Take(events.Count)), Summaries(events));
        }
        finally
        {
            await hub.DisposeAsync();
        }
    }

    /// <summary>
    /// A subscriber with a small receive buffer that has read the stream's opening and the first of ten 1 MB events
    /// published behind it, then stopped reading once the second one's first bytes arrived: the hub's socket is full
    /// and a write waits for the client. The bytes read so far go back with the connection, so that a test sees the
    /// whole stream, and at least one event in it: a comparison with what was published cannot pass on nothing.
    /// </summary>
    private static async Task<(RawConnection Connection, List<Event> Published, byte[] Read)> SubscribeBehindTenLargeEventsAsync(TestHub hub)
    {
        var connection = await RawConnection.OpenAsync(hub.BaseUrl, receiveBufferSize: 8192);
        await connection.SendAsync(Subscribe(hub, TopicQuery));
        Assert.Equal("close", (await connection.ReadHeadAsync()).Single("Connection"));
        Assert.Equal(":\n\n", Encoding.ASCII.GetString((await connection.ReadChunkAsync())!));
        await TestHub.Eventually(() => hub.Hub.SubscriberCount == 1, "the subscriber");
        var published = await PublishLargeAsync(hub, 10);
        var read = new List<byte>();
        while (read.Count < 1024 * 1024 || (await ParseChunkedAsync([.. read], partial: true)).Events.Count == 0)
        {
            var some = await connection.ReadSomeAsync();
            Assert.NotEmpty(some);
            read.AddRange(some);
        }

        await TestHub.Eventually(() => connection.Socket.Available > 0, "the next event's first bytes");
        return (connection, published, [.. read]);
    }

    /// <summary>Short, comparable forms of big events: id, length and a digest of the data.</summary>
    private static List<string> Summaries(IEnumerable<Event> events)
        => events.Select(e => $"{e.Id} {e.Type} {e.Data.Length} {Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(e.Data)))[..16]}").ToList();

    /// <summary>Publishes <paramref name="count"/> 1 MB events, each with its own content; returns them as expected.</summary>
    private static async Task<List<Event>> PublishLargeAsync(TestHub hub, int count)
    {
        var events = new List<Event>();
        for (var i = 0; i < count; i++)
        {
            var data = string.Create(1024 * 1024, i, static (span, seed) =>
            {
                for (var j = 0; j < span.Length; j++)
                {
                    span[j] = (char)('a' + ((j * 7 + seed) % 26));
                }
            });
            var id = await hub.Hub.PublishAsync(new Update { Topics = [Topic], Data = data });
            events.Add(new Event(data, id, null));
        }

        return events;
    }

    /// <summary>
    /// Reads a chunked stream to the end of the connection, however it ends (last chunk, close, reset, or a close in the
    /// middle of a chunk), and returns the events that arrived complete.
    /// </summary>
    private static async Task<(List<Event> Events, bool LastChunk)> ReadToEndAsync(RawConnection connection, byte[]? alreadyRead = null)
    {
        var bytes = new List<byte>(alreadyRead ?? []);
        try
        {
            while (await connection.ReadSomeAsync() is { Length: > 0 } some)
            {
                bytes.AddRange(some);
            }
        }
        catch (SocketException)
        {
            // A reset ends the stream as well.
        }

        return await ParseChunkedAsync([.. bytes], partial: false);
    }

    /// <summary>
    /// The events complete in chunked bytes. Chunk data in order; a chunk the connection cut short contributes what
    /// arrived of it. <paramref name="partial"/>: the bytes are what arrived so far, so they may end anywhere.
    /// </summary>
    private static async Task<(List<Event> Events, bool LastChunk)> ParseChunkedAsync(byte[] all, bool partial)
    {
        var data = new List<byte>();
        var position = 0;
        var lastChunk = false;
        while (position < all.Length)
        {
            var lineEnd = all.AsSpan(position).IndexOf("\r\n"u8);
            if (lineEnd < 0)
            {
                break;
            }

            var size = Convert.ToInt32(Encoding.ASCII.GetString(all, position, lineEnd), 16);
            position += lineEnd + 2;
            if (size == 0)
            {
                lastChunk = true;
                Assert.Equal("\r\n", Encoding.ASCII.GetString(all, position, all.Length - position));
                break;
            }

            var take = Math.Min(size, all.Length - position);
            data.AddRange(all.AsSpan(position, take));
            position += take;
            if (take < size || (partial && all.Length - position < 2))
            {
                break;
            }

            Assert.Equal("\r\n", Encoding.ASCII.GetString(all, position, Math.Min(2, all.Length - position)));
            position += 2;
        }

        var events = new List<Event>();
        var reader = new BufferedEvents(data.ToArray());
        while (await reader.TryNextAsync() is { } item)
        {
            events.Add(item);
        }

        return (events, lastChunk);
    }

    [Fact]
    public async Task An_idle_connection_does_not_hold_up_shutdown()
    {
        var hub = await Start();
        try
        {
            // One connection that never sends a byte, one that sent half a head.
            await using var idle = await RawConnection.OpenAsync(hub.BaseUrl);
            await using var half = await RawConnection.OpenAsync(hub.BaseUrl);
            await half.SendAsync("GET /.well-known/mer");

            // A served subscription proves the server is accepting and reading connections.
            await using var live = await RawConnection.OpenAsync(hub.BaseUrl);
            await live.SendAsync(Subscribe(hub, TopicQuery));
            Assert.Equal(200, (await live.ReadHeadAsync()).Status);

            // The host's shutdown timeout is 30 s: a stop that waits for idle connections would only end then.
            await hub.App.StopAsync().WaitAsync(TimeSpan.FromSeconds(20));
            Assert.True(await idle.EndsAsync(), "the idle connection is closed");
            Assert.True(await half.EndsAsync(drain: true), "the half-sent connection is closed");
        }
        finally
        {
            await hub.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_hub_mounted_without_UseHeraldSubscriptions_serves_through_Kestrel()
    {
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Services.AddHerald(o => o.Anonymous = true);
        var app = builder.Build();
        app.MapHerald();
        await app.StartAsync().WaitAsync(TimeSpan.FromSeconds(30));
        await using var _ = app;
        var baseUrl = Herald.Cli.HubServer.Addresses(app).First().TrimEnd('/');
        var hub = app.Services.GetRequiredService<Herald.Mercure.MercureHub>();

        await using var connection = await RawConnection.OpenAsync(baseUrl);
        var authority = new Uri(baseUrl).Authority;
        await connection.SendAsync($"GET /.well-known/mercure?{TopicQuery} HTTP/1.1\r\nHost: {authority}\r\n\r\n");
        var head = await connection.ReadHeadAsync();

        Assert.Equal(200, head.Status);
        Assert.Equal("text/event-stream", head.Single("Content-Type"));
        Assert.Equal("chunked", head.Single("Transfer-Encoding"));
        Assert.Null(head.Get("Connection"));
        await TestHub.Eventually(() => hub.SubscriberCount == 1, "the subscriber");
        await hub.PublishAsync(new Update { Topics = [Topic], Data = "through the pipe" });
        Assert.Equal("through the pipe", (await new ChunkedEvents(connection).NextAsync()).Data);

        await connection.DisposeAsync();
        await TestHub.Eventually(() => hub.SubscriberCount == 0, "the subscriber to leave");
    }

    [Fact]
    public async Task A_hub_mounted_in_a_route_group_is_served_only_at_its_prefixed_path()
    {
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.WebHost.UseHeraldListener();
        builder.WebHost.ConfigureKestrel(k => k.ConfigureEndpointDefaults(listen => listen.UseHeraldSubscriptions()));
        builder.Logging.ClearProviders();
        builder.Services.AddHerald(o => o.Anonymous = true);
        var app = builder.Build();
        app.MapGroup("/api").MapHerald();
        await app.StartAsync().WaitAsync(TimeSpan.FromSeconds(30));
        await using var _ = app;
        var baseUrl = Herald.Cli.HubServer.Addresses(app).First().TrimEnd('/');
        var authority = new Uri(baseUrl).Authority;
        var hub = app.Services.GetRequiredService<Herald.Mercure.MercureHub>();

        // The unprefixed path was never mapped: no subscription there, whatever the connection level sees.
        await using (var wrong = await RawConnection.OpenAsync(baseUrl))
        {
            await wrong.SendAsync($"GET /.well-known/mercure?{TopicQuery} HTTP/1.1\r\nHost: {authority}\r\n\r\n");
            Assert.Equal(404, (await wrong.ReadHeadAsync()).Status);
        }

        await using var connection = await RawConnection.OpenAsync(baseUrl);
        await connection.SendAsync($"GET /api/.well-known/mercure?{TopicQuery} HTTP/1.1\r\nHost: {authority}\r\n\r\n");
        var head = await connection.ReadHeadAsync();
        Assert.Equal(200, head.Status);
        await TestHub.Eventually(() => hub.SubscriberCount == 1, "the subscriber");
        await hub.PublishAsync(new Update { Topics = [Topic], Data = "in the group" });
        Assert.Equal("in the group", (await new ChunkedEvents(connection).NextAsync()).Data);
    }

    [Fact]
    public async Task A_hub_that_requires_a_host_is_not_served_at_the_connection_level_for_another_host()
    {
        await using var app = await StartEmbeddedAsync(services => { }, hub => hub.RequireHost("hub.example"));
        var baseUrl = Herald.Cli.HubServer.Addresses(app).First().TrimEnd('/');
        var hub = app.Services.GetRequiredService<Herald.Mercure.MercureHub>();

        // The endpoint only matches Host: hub.example; served on the connection, it would have answered 200.
        await using (var wrong = await RawConnection.OpenAsync(baseUrl))
        {
            await wrong.SendAsync($"GET /.well-known/mercure?{TopicQuery} HTTP/1.1\r\nHost: {new Uri(baseUrl).Authority}\r\n\r\n");
            Assert.Equal(404, (await wrong.ReadHeadAsync()).Status);
        }

        await using var connection = await RawConnection.OpenAsync(baseUrl);
        await connection.SendAsync($"GET /.well-known/mercure?{TopicQuery} HTTP/1.1\r\nHost: hub.example\r\n\r\n");
        Assert.Equal(200, (await connection.ReadHeadAsync()).Status);
        await TestHub.Eventually(() => hub.SubscriberCount == 1, "the subscriber");
        await hub.PublishAsync(new Update { Topics = [Topic], Data = "for hub.example" });
        Assert.Equal("for hub.example", (await new ChunkedEvents(connection).NextAsync()).Data);
    }

    [Fact]
    public async Task A_hub_that_requires_authorization_sends_subscriptions_through_the_apps_authorization()
    {
        await using var app = await StartEmbeddedAsync(
            services =>
            {
                services.AddAuthentication("cookie").AddCookie("cookie");
                services.AddAuthorization();
            },
            hub => hub.RequireAuthorization());
        var baseUrl = Herald.Cli.HubServer.Addresses(app).First().TrimEnd('/');

        // Anonymous subscribers are allowed by the hub itself, but the app asked for a signed-in user: the cookie
        // scheme's challenge (a redirect to its login page) answers, not the event stream.
        await using var connection = await RawConnection.OpenAsync(baseUrl);
        await connection.SendAsync($"GET /.well-known/mercure?{TopicQuery} HTTP/1.1\r\nHost: {new Uri(baseUrl).Authority}\r\n\r\n");
        Assert.Equal(302, (await connection.ReadHeadAsync()).Status);
        Assert.Equal(0, app.Services.GetRequiredService<Herald.Mercure.MercureHub>().SubscriberCount);
    }

    [Theory]
    [InlineData(true)] // a connection Herald's listener accepted
    [InlineData(false)] // a connection Kestrel accepted, taken over by the connection middleware
    public async Task A_client_that_keeps_sending_after_its_subscription_head_is_cut(bool listener)
    {
        await using var app = await StartEmbeddedAsync(_ => { }, _ => { }, listener);
        var baseUrl = Herald.Cli.HubServer.Addresses(app).First().TrimEnd('/');
        var hub = app.Services.GetRequiredService<Herald.Mercure.MercureHub>();
        await using var connection = await RawConnection.OpenAsync(baseUrl);
        await connection.SendAsync($"GET /.well-known/mercure?{TopicQuery} HTTP/1.1\r\nHost: {new Uri(baseUrl).Authority}\r\n\r\n");
        Assert.Equal(200, (await connection.ReadHeadAsync()).Status);
        await TestHub.Eventually(() => hub.SubscriberCount == 1, "the subscriber");

        // An event-stream request has no body: past 64 KB of anything after the head, the hub stops reading and
        // ends the stream.
        try
        {
            var junk = new string('x', 16 * 1024);
            for (var i = 0; i < 8; i++)
            {
                await connection.SendAsync(junk);
            }
        }
        catch (SocketException)
        {
            // The hub may close the connection before the last of it is sent.
        }

        await TestHub.Eventually(() => hub.SubscriberCount == 0, "the subscriber to be cut");
        Assert.True(await connection.EndsAsync(drain: true), "the hub closes the connection");
    }

    [Fact]
    public async Task A_head_that_trickles_past_the_servers_head_timeout_is_answered_408_and_the_connection_closed()
    {
        await using var app = await StartEmbeddedAsync(
            _ => { }, _ => { }, listener: false, kestrel: k => k.Limits.RequestHeadersTimeout = TimeSpan.FromSeconds(1));
        var baseUrl = Herald.Cli.HubServer.Addresses(app).First().TrimEnd('/');
        await using var connection = await RawConnection.OpenAsync(baseUrl);

        // The start of a subscription, then nothing: the head never completes.
        await connection.SendAsync($"GET /.well-known/mercure?{TopicQuery} HTTP/1.1\r\nHost: {new Uri(baseUrl).Authority}\r\n");

        // Held by the connection middleware it would stay open for good; like Kestrel, the hub answers a head this
        // slow with a 408 and closes.
        Assert.Equal(408, (await connection.ReadHeadAsync()).Status);
        Assert.True(await connection.EndsAsync(drain: true), "the connection is closed");
    }

    /// <summary>
    /// A hub embedded with the connection middleware on (and Herald's listener too when <paramref name="listener"/>),
    /// mapped with <paramref name="conventions"/>.
    /// </summary>
    private static async Task<WebApplication> StartEmbeddedAsync(
        Action<IServiceCollection> services,
        Action<IEndpointConventionBuilder> conventions,
        bool listener = true,
        Action<Microsoft.AspNetCore.Server.Kestrel.Core.KestrelServerOptions>? kestrel = null)
    {
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        if (listener)
        {
            builder.WebHost.UseHeraldListener();
        }

        builder.WebHost.ConfigureKestrel(k =>
        {
            k.ConfigureEndpointDefaults(listen => listen.UseHeraldSubscriptions());
            kestrel?.Invoke(k);
        });
        builder.Logging.ClearProviders();
        builder.Services.AddHerald(o => o.Anonymous = true);
        services(builder.Services);
        var app = builder.Build();
        conventions(app.MapHerald());
        await app.StartAsync().WaitAsync(TimeSpan.FromSeconds(30));
        return app;
    }

    [Fact]
    public async Task Behind_TLS_the_hub_leaves_the_connection_to_Kestrel()
    {
        using var certificate = SelfSigned();
        var builder = WebApplication.CreateBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, listen =>
        {
            // Installed after TLS: the bytes it would see are decrypted, but the socket carries TLS records.
            listen.UseHttps(certificate);
            listen.UseHeraldSubscriptions();
        }));
        builder.Services.AddHerald(o => o.Anonymous = true);
        var app = builder.Build();
        app.MapHerald();
        await app.StartAsync().WaitAsync(TimeSpan.FromSeconds(30));
        await using var _ = app;
        var port = new Uri(Herald.Cli.HubServer.Addresses(app).First()).Port;
        var hub = app.Services.GetRequiredService<Herald.Mercure.MercureHub>();

        using var handler = new SocketsHttpHandler { SslOptions = new SslClientAuthenticationOptions { RemoteCertificateValidationCallback = (_, _, _, _) => true } };
        using var client = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(30) };
        using var response = await client.GetAsync($"https://127.0.0.1:{port}/.well-known/mercure?{TopicQuery}", HttpCompletionOption.ResponseHeadersRead)
            .WaitAsync(TimeSpan.FromSeconds(10));
        await using var reader = await SseReader.OpenAsync(response);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await TestHub.Eventually(() => hub.SubscriberCount == 1, "the subscriber");
        await hub.PublishAsync(new Update { Topics = [Topic], Data = "encrypted" });
        Assert.Equal("encrypted", (await reader.NextAsync())?.Data);
    }

    [Fact]
    public async Task A_header_value_with_a_line_break_is_refused_before_the_response_starts_and_a_500_goes_out_instead()
    {
        var (server, client) = await SocketPairAsync();
        using var _ = server;
        await using var connection = RawConnection.Over(client);
        var response = new DirectResponse(new SocketOnlyConnection(server));
        response.Headers["X-Echo"] = "value\r\nSet-Cookie: injected=1";

        await Assert.ThrowsAsync<InvalidOperationException>(() => response.StartAsync());
        Assert.False(response.HasStarted);
        response.StatusCode = StatusCodes.Status500InternalServerError;
        response.Headers.Clear();
        await response.CompleteAsync();
        server.Shutdown(SocketShutdown.Send);

        var head = await connection.ReadHeadAsync();
        Assert.Equal("HTTP/1.1 500 Internal Server Error", head.StatusLine);
        Assert.Equal("0", head.Single("Content-Length"));
        Assert.Null(head.Get("Set-Cookie"));
        Assert.True(await connection.EndsAsync());
    }

    [Fact]
    public async Task A_header_refused_when_an_unstarted_response_completes_leaves_room_for_a_500()
    {
        var (server, client) = await SocketPairAsync();
        using var _ = server;
        await using var connection = RawConnection.Over(client);
        var response = new DirectResponse(new SocketOnlyConnection(server));
        response.StatusCode = StatusCodes.Status400BadRequest;
        response.Headers["Bad\nName"] = "x";

        await Assert.ThrowsAsync<InvalidOperationException>(() => response.CompleteAsync());
        response.StatusCode = StatusCodes.Status500InternalServerError;
        response.Headers.Clear();
        await response.CompleteAsync();
        server.Shutdown(SocketShutdown.Send);

        Assert.Equal(500, (await connection.ReadHeadAsync()).Status);
        Assert.True(await connection.EndsAsync());
    }

    /// <summary>A taken-over connection that is just a socket, for driving a DirectResponse by hand.</summary>
    private sealed class SocketOnlyConnection(Socket socket) : DirectConnection(socket)
    {
        public override string Id => "test";

        public override EndPoint? RemoteEndPoint => Socket.RemoteEndPoint;

        public override EndPoint? LocalEndPoint => Socket.LocalEndPoint;

        public override void Abort() => Socket.Dispose();

        public override Task DrainAsync(DirectResponse response) => Task.CompletedTask;

        public override void StopDraining()
        {
        }
    }

    private static async Task<(Socket Server, Socket Client)> SocketPairAsync()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(listener.LocalEndPoint!).WaitAsync(TimeSpan.FromSeconds(10));
        var server = await listener.AcceptAsync().WaitAsync(TimeSpan.FromSeconds(10));
        return (server, client);
    }

    private static X509Certificate2 SelfSigned()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        return X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pfx), null);
    }

    /// <summary>A response's status line and headers, as received.</summary>
    private sealed class ResponseHead(string statusLine, List<KeyValuePair<string, string>> headers)
    {
        public string StatusLine { get; } = statusLine;

        public int Status { get; } = int.Parse(statusLine.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);

        public List<KeyValuePair<string, string>> Headers { get; } = headers;

        public string? Get(string name) => Headers.Where(h => h.Key.Equals(name, StringComparison.OrdinalIgnoreCase)).Select(h => h.Value).SingleOrDefault();

        public string Single(string name) => Headers.Single(h => h.Key.Equals(name, StringComparison.OrdinalIgnoreCase)).Value;
    }

    /// <summary>A client connection read and written byte by byte, every read with a deadline.</summary>
    private sealed class RawConnection : IAsyncDisposable
    {
        /// <summary>Generous: it is only reached when a test fails, and the machine may be busy with other runs.</summary>
        private const int TimeoutMs = 30_000;
        private readonly byte[] _buffer = new byte[64 * 1024];
        private int _start;
        private int _end;

        private RawConnection(Socket socket) => Socket = socket;

        public static RawConnection Over(Socket socket) => new(socket);

        public Socket Socket { get; }

        /// <summary>Whether a chunk has been started and not finished.</summary>
        public bool InChunk { get; private set; }

        public static async Task<RawConnection> OpenAsync(string baseUrl, int? receiveBufferSize = null)
        {
            var uri = new Uri(baseUrl);
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            if (receiveBufferSize is { } size)
            {
                socket.ReceiveBufferSize = size;
            }

            await socket.ConnectAsync(uri.Host, uri.Port).WaitAsync(TimeSpan.FromSeconds(10));
            return new RawConnection(socket);
        }

        public async Task SendAsync(string text)
        {
            var bytes = Encoding.ASCII.GetBytes(text);
            using var timeout = new CancellationTokenSource(TimeoutMs);
            var sent = 0;
            while (sent < bytes.Length)
            {
                sent += await Socket.SendAsync(bytes.AsMemory(sent), SocketFlags.None, timeout.Token);
            }
        }

        public async Task SendBytewiseAsync(string text)
        {
            using var timeout = new CancellationTokenSource(TimeoutMs * 3);
            foreach (var b in Encoding.ASCII.GetBytes(text))
            {
                await Socket.SendAsync(new[] { b }, SocketFlags.None, timeout.Token);

                // Yield so that each byte tends to leave in its own segment (not a synchronisation: any split is valid).
                await Task.Yield();
            }
        }

        /// <summary>Some bytes of the body as they come, or an empty array at the end of the stream.</summary>
        public async Task<byte[]> ReadSomeAsync()
        {
            if (_end == _start && !await FillAsync())
            {
                return [];
            }

            var bytes = _buffer[_start.._end];
            _start = _end;
            return bytes;
        }

        public async Task<ResponseHead> ReadHeadAsync()
        {
            var statusLine = await ReadLineAsync() ?? throw new InvalidOperationException("the connection ended before a response");
            var headers = new List<KeyValuePair<string, string>>();
            while (await ReadLineAsync() is { Length: > 0 } line)
            {
                var colon = line.IndexOf(':', StringComparison.Ordinal);
                Assert.True(colon > 0, "a header line without a colon: " + line);
                headers.Add(new(line[..colon], line[(colon + 1)..].Trim()));
            }

            return new ResponseHead(statusLine, headers);
        }

        /// <summary>A body framed by Content-Length or chunks (not for streams, which never end).</summary>
        public async Task<byte[]> ReadBodyAsync(ResponseHead head)
        {
            if (head.Get("Content-Length") is { } length)
            {
                return await ReadExactlyAsync(int.Parse(length, System.Globalization.CultureInfo.InvariantCulture));
            }

            Assert.Equal("chunked", head.Single("Transfer-Encoding"));
            var body = new List<byte>();
            while (await ReadChunkAsync() is { } chunk)
            {
                body.AddRange(chunk);
            }

            return [.. body];
        }

        /// <summary>The next chunk's data, or null for the last chunk. Fails on anything that is not chunk framing.</summary>
        public async Task<byte[]?> ReadChunkAsync()
        {
            var sizeLine = await ReadLineAsync() ?? throw new ClosedBetweenChunksException();
            InChunk = true;
            Assert.Matches("^[0-9a-f]+$", sizeLine);
            var size = Convert.ToInt32(sizeLine, 16);
            if (size == 0)
            {
                Assert.Equal(string.Empty, await ReadLineAsync());
                InChunk = false;
                return null;
            }

            var data = await ReadExactlyAsync(size);
            Assert.Equal(string.Empty, await ReadLineAsync());
            InChunk = false;
            return data;
        }

        public async Task<byte[]> ReadExactlyAsync(int count)
        {
            var data = new byte[count];
            var copied = 0;
            while (copied < count)
            {
                if (_end == _start && !await FillAsync())
                {
                    throw new EndOfStreamException($"the connection ended {count - copied} bytes short");
                }

                var take = Math.Min(count - copied, _end - _start);
                _buffer.AsSpan(_start, take).CopyTo(data.AsSpan(copied));
                _start += take;
                copied += take;
            }

            return data;
        }

        /// <summary>
        /// Whether the server ends the connection (end of stream or reset) within the deadline. Unless
        /// <paramref name="drain"/>, nothing more may arrive first.
        /// </summary>
        public async Task<bool> EndsAsync(bool drain = false)
        {
            using var timeout = new CancellationTokenSource(TimeoutMs);
            try
            {
                while (true)
                {
                    if (_end > _start)
                    {
                        Assert.True(drain, "unexpected bytes: " + Encoding.ASCII.GetString(_buffer, _start, _end - _start));
                        _start = _end;
                    }

                    var read = await Socket.ReceiveAsync(_buffer.AsMemory(), SocketFlags.None, timeout.Token);
                    if (read == 0)
                    {
                        return true;
                    }

                    _start = 0;
                    _end = read;
                }
            }
            catch (SocketException)
            {
                return true;
            }
            catch (OperationCanceledException)
            {
                return false;
            }
        }

        private async Task<string?> ReadLineAsync()
        {
            var line = new StringBuilder();
            while (true)
            {
                if (_end == _start && !await FillAsync())
                {
                    return line.Length == 0 ? null : throw new EndOfStreamException("the connection ended mid-line: " + line);
                }

                var b = _buffer[_start++];
                if (b == '\n')
                {
                    Assert.True(line.Length > 0 && line[^1] == '\r', "a line not ended by CRLF: " + line);
                    return line.ToString(0, line.Length - 1);
                }

                line.Append((char)b);
            }
        }

        private async Task<bool> FillAsync()
        {
            using var timeout = new CancellationTokenSource(TimeoutMs);
            int read;
            try
            {
                read = await Socket.ReceiveAsync(_buffer.AsMemory(), SocketFlags.None, timeout.Token);
            }
            catch (OperationCanceledException)
            {
                Assert.Fail($"nothing received within {TimeoutMs} ms");
                throw;
            }

            _start = 0;
            _end = read;
            return read > 0;
        }

        public ValueTask DisposeAsync()
        {
            Socket.Dispose();
            return ValueTask.CompletedTask;
        }
    }

    /// <summary>An event: its data lines joined, its id and type.</summary>
    private readonly record struct Event(string Data, string? Id, string? Type);

    /// <summary>Thrown when the connection ends cleanly where a chunk would start.</summary>
    private sealed class ClosedBetweenChunksException : Exception
    {
    }

    /// <summary>SSE events parsed from a body read in pieces, skipping comments (the opening and heartbeats).</summary>
    private abstract class EventReader
    {
        private readonly StringBuilder _text = new();

        public async Task<Event> NextAsync()
        {
            while (true)
            {
                // SSE line ends are LF, CR LF or CR; the hub writes LF, so a CR here is someone else's framing.
                var text = _text.ToString().Replace("\r\n", "\n", StringComparison.Ordinal);
                var end = text.IndexOf("\n\n", StringComparison.Ordinal);
                if (end >= 0)
                {
                    _text.Clear().Append(text, end + 2, text.Length - end - 2);
                    if (Parse(text[..end]) is { } item)
                    {
                        return item;
                    }

                    continue;
                }

                var bytes = await ReadSomeAsync();
                if (bytes.Length == 0)
                {
                    throw new EndOfStreamException("the stream ended before the next event");
                }

                _text.Append(Encoding.UTF8.GetString(bytes));
            }
        }

        /// <summary>Whether nothing is left over between events.</summary>
        protected bool AtEventBoundary => _text.Length == 0;

        /// <summary>The next bytes of the body, or an empty array at its end.</summary>
        protected abstract Task<byte[]> ReadSomeAsync();

        private static Event? Parse(string block)
        {
            var data = new List<string>();
            string? id = null;
            string? type = null;
            foreach (var line in block.Split('\n'))
            {
                if (line.StartsWith(':'))
                {
                    continue;
                }

                var colon = line.IndexOf(':', StringComparison.Ordinal);
                var (field, value) = colon < 0 ? (line, string.Empty) : (line[..colon], line[(colon + 1)..].TrimStart(' '));
                switch (field)
                {
                    case "data": data.Add(value); break;
                    case "id": id = value; break;
                    case "event": type = value; break;
                }
            }

            return data.Count == 0 && id is null ? null : new Event(string.Join('\n', data), id, type);
        }
    }

    /// <summary>Events from body data already read; an event cut short by the end is not one.</summary>
    private sealed class BufferedEvents(byte[] data) : EventReader
    {
        private bool _read;

        public async Task<Event?> TryNextAsync()
        {
            try
            {
                return await NextAsync();
            }
            catch (EndOfStreamException)
            {
                return null;
            }
        }

        protected override Task<byte[]> ReadSomeAsync()
        {
            var some = _read ? [] : data;
            _read = true;
            return Task.FromResult(some);
        }
    }

    /// <summary>Events from a body that simply runs until the connection closes (HTTP/1.0).</summary>
    private sealed class RawEvents(RawConnection connection) : EventReader
    {
        protected override Task<byte[]> ReadSomeAsync() => connection.ReadSomeAsync();
    }

    /// <summary>Events from a chunked body, checking the chunk framing as it goes.</summary>
    private sealed class ChunkedEvents(RawConnection connection) : EventReader
    {
        private bool _lastChunk;
        private bool _closed;

        /// <summary>
        /// Reads to the end of the stream: whole chunks of whole events, then the last chunk and the end of the
        /// connection, or the end (or a reset) of the connection alone, between chunks. Fails on a cut chunk or a cut event.
        /// </summary>
        public async Task<bool> EndsCleanlyAsync()
        {
            try
            {
                while (true)
                {
                    _ = await NextAsync();
                }
            }
            catch (EndOfStreamException) when ((_lastChunk || _closed) && AtEventBoundary)
            {
                return !_lastChunk || await connection.EndsAsync();
            }
            catch (SocketException) when (!connection.InChunk)
            {
                return AtEventBoundary;
            }
        }

        protected override async Task<byte[]> ReadSomeAsync()
        {
            if (_lastChunk || _closed)
            {
                return [];
            }

            try
            {
                var chunk = await connection.ReadChunkAsync();
                _lastChunk = chunk is null;
                return chunk ?? [];
            }
            catch (ClosedBetweenChunksException)
            {
                _closed = true;
                return [];
            }
        }
    }
}
