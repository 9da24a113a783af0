using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;

namespace Herald.Client.Tests;

/// <summary>The client against a real Kestrel server that misbehaves on purpose.</summary>
public sealed class EventSourceClientTests
{
    private static readonly TimeSpan QuietIdleTimeout = TimeSpan.FromSeconds(3);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_dropped_stream_resumes_after_the_last_id_with_no_gap(bool abort)
    {
        var lastEventIds = new ConcurrentQueue<string>();
        var delivered = new ConcurrentDictionary<string, TaskCompletionSource>();
        TaskCompletionSource Delivered(string id) => delivered.GetOrAdd(id, _ => new(TaskCreationOptions.RunContinuationsAsynchronously));
        await using var server = await TestServer.StartAsync(app => app.MapGet("/sse", async context =>
        {
            var lastId = context.Request.Headers["Last-Event-ID"].ToString();
            lastEventIds.Enqueue(lastId);
            var next = lastId.Length == 0 ? 1 : int.Parse(lastId, CultureInfo.InvariantCulture) + 1;
            await TestServer.StartStreamAsync(context);

            // Three events per connection, then it ends: cleanly, or torn down (once the client has them, as a
            // reset connection loses whatever was still in flight).
            for (var i = next; i < next + 3; i++)
            {
                await TestServer.WriteAsync(context, $"id: {i}\ndata: event {i}\n\n");
            }

            if (abort)
            {
                await Delivered($"{next + 2}").Task.WaitAsync(TestServer.Timeout, context.RequestAborted);
                context.Abort();
            }
        }));
        await using var client = new EventSourceClient(FastOptions(server.Url("sse")));
        var errors = CollectErrors(client);

        var messages = new List<SseMessage>();
        using var timeout = new CancellationTokenSource(TestServer.Timeout);
        await foreach (var message in client.ReadAllAsync(timeout.Token))
        {
            messages.Add(message);
            Delivered(message.LastEventId).TrySetResult();
            if (messages.Count == 9)
            {
                break;
            }
        }

        Assert.Equal(Enumerable.Range(1, 9).Select(i => $"event {i}"), messages.Select(m => m.Data));
        Assert.Equal(Enumerable.Range(1, 9).Select(i => $"{i}"), messages.Select(m => m.LastEventId));
        Assert.Equal(["", "3", "6"], lastEventIds.Take(3));
        Assert.True(errors.Count >= 2, $"{errors.Count} errors for two ended streams");
        Assert.All(errors, e => Assert.True(e.WillRetry));
        Assert.All(errors.Take(2), e => Assert.IsAssignableFrom(abort ? typeof(IOException) : typeof(EventSourceException), e.Exception));
    }

    [Fact]
    public async Task Requests_carry_the_stream_headers_the_callers_headers_and_the_initial_id()
    {
        var headers = new TaskCompletionSource<IHeaderDictionary>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await TestServer.StartAsync(app => app.MapGet("/sse", async context =>
        {
            headers.TrySetResult(context.Request.Headers);
            await TestServer.StartStreamAsync(context, "data: hi\n\n");
            await TestServer.HoldAsync(context);
        }));
        await using var client = new EventSourceClient(FastOptions(server.Url("sse")) with
        {
            InitialLastEventId = "urn:uuid:41",
            Headers = new Dictionary<string, string> { ["Authorization"] = "Bearer abc" },
        });

        var message = Assert.Single(await TakeAsync(client, 1));
        var sent = await headers.Task.WaitAsync(TestServer.Timeout);

        Assert.Equal(new SseMessage("hi", "message", "urn:uuid:41"), message);
        Assert.Equal("text/event-stream", sent.Accept.ToString());
        Assert.Equal("no-cache", sent.CacheControl.ToString());
        Assert.Equal("Bearer abc", sent.Authorization.ToString());
        Assert.Equal("urn:uuid:41", sent["Last-Event-ID"].ToString());
    }

    [Fact]
    public async Task The_servers_retry_field_sets_the_reconnection_delay()
    {
        var connections = 0;
        await using var server = await TestServer.StartAsync(app => app.MapGet("/sse", async context =>
        {
            if (Interlocked.Increment(ref connections) == 1)
            {
                await TestServer.StartStreamAsync(context, "retry: 300\nid: 1\ndata: a\n\n");
                return;
            }

            await TestServer.StartStreamAsync(context, "id: 2\ndata: b\n\n");
            await TestServer.HoldAsync(context);
        }));
        await using var client = new EventSourceClient(FastOptions(server.Url("sse")));
        var errors = CollectErrors(client);

        var messages = await TakeAsync(client, 2);

        Assert.Equal(["a", "b"], messages.Select(m => m.Data));
        var delay = Assert.Single(errors).RetryDelay;
        Assert.InRange(delay, TimeSpan.FromMilliseconds(300), TimeSpan.FromMilliseconds(375));
    }

    [Fact]
    public async Task Status_204_ends_the_enumeration()
    {
        var connections = 0;
        await using var server = await TestServer.StartAsync(app => app.MapGet("/sse", async context =>
        {
            if (Interlocked.Increment(ref connections) == 1)
            {
                await TestServer.StartStreamAsync(context, "id: 1\ndata: last one\n\n");
                return;
            }

            context.Response.StatusCode = StatusCodes.Status204NoContent;
        }));
        await using var client = new EventSourceClient(FastOptions(server.Url("sse")));

        var messages = await ReadToEndAsync(client);

        Assert.Equal("last one", Assert.Single(messages).Data);
        Assert.Equal(2, Volatile.Read(ref connections));
    }

    [Theory]
    [InlineData(500)]
    [InlineData(502)]
    [InlineData(503)]
    [InlineData(504)]
    public async Task A_5xx_is_retried_with_growing_delays_until_the_stream_opens(int status)
    {
        var attempts = 0;
        await using var server = await TestServer.StartAsync(app => app.MapGet("/sse", async context =>
        {
            if (Interlocked.Increment(ref attempts) <= 3)
            {
                context.Response.StatusCode = status;
                await context.Response.WriteAsync("hub restarting\n");
                return;
            }

            await TestServer.StartStreamAsync(context, "data: ok\n\n");
            await TestServer.HoldAsync(context);
        }));
        await using var client = new EventSourceClient(FastOptions(server.Url("sse")) with
        {
            ReconnectDelay = TimeSpan.FromMilliseconds(100),
        });
        var errors = CollectErrors(client);

        var message = Assert.Single(await TakeAsync(client, 1));

        Assert.Equal("ok", message.Data);
        Assert.Equal(3, errors.Count);
        Assert.Equal([1, 2, 3], errors.Select(e => e.ConsecutiveFailures));
        Assert.All(errors, e =>
        {
            Assert.True(e.WillRetry);
            var failure = Assert.IsType<EventSourceException>(e.Exception);
            Assert.Equal((HttpStatusCode)status, failure.StatusCode);
            Assert.Equal("hub restarting", failure.Reason);
        });

        // 100 ms, then doubling, each plus up to 25 ms of jitter.
        var delays = errors.Select(e => e.RetryDelay.TotalMilliseconds).ToArray();
        Assert.InRange(delays[0], 100, 125);
        Assert.InRange(delays[1], 200, 225);
        Assert.InRange(delays[2], 400, 425);
    }

    [Fact]
    public async Task The_backoff_stops_growing_at_the_maximum_delay()
    {
        await using var server = await TestServer.StartAsync(app => app.MapGet("/sse", context =>
        {
            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            return Task.CompletedTask;
        }));
        await using var client = new EventSourceClient(FastOptions(server.Url("sse")) with
        {
            ReconnectDelay = TimeSpan.FromMilliseconds(50),
            MaxReconnectDelay = TimeSpan.FromMilliseconds(150),
        });
        using var stop = new CancellationTokenSource(TestServer.Timeout);
        var errors = new List<EventSourceErrorEventArgs>();
        client.Error += (_, e) =>
        {
            errors.Add(e);
            if (errors.Count == 6)
            {
                stop.Cancel();
            }
        };

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => ReadToEndAsync(client, stop.Token));

        Assert.False(stop.IsCancellationRequested && errors.Count < 6, "timed out before six failures");
        var delays = errors.Select(e => e.RetryDelay.TotalMilliseconds).ToArray();
        // 50 ms, then doubling from at least 100 ms: 200 ms is already past the 150 ms ceiling. Jitter adds up to 12.5 ms.
        Assert.InRange(delays[0], 50, 62.5);
        Assert.All(delays[1..], d => Assert.InRange(d, 150, 162.5));
    }

    [Fact]
    public async Task A_network_error_is_retried()
    {
        // A port bound but not listening: connecting to it is refused, and while we hold it no one else can take it
        // (a port found free and released could be anyone's by the time the client connects).
        using var reserved = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        reserved.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var port = ((IPEndPoint)reserved.LocalEndPoint!).Port;

        await using var client = new EventSourceClient(FastOptions(new Uri($"http://127.0.0.1:{port}/sse")));
        using var stop = new CancellationTokenSource(TestServer.Timeout);
        var errors = new List<EventSourceErrorEventArgs>();
        client.Error += (_, e) =>
        {
            errors.Add(e);
            if (errors.Count == 2)
            {
                stop.Cancel();
            }
        };

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => ReadToEndAsync(client, stop.Token));

        Assert.Equal(2, errors.Count);
        Assert.All(errors, e =>
        {
            Assert.True(e.WillRetry);
            Assert.IsType<HttpRequestException>(e.Exception);
        });
    }

    [Fact]
    public async Task Another_content_type_fails_for_good()
    {
        var attempts = 0;
        await using var server = await TestServer.StartAsync(app => app.MapGet("/sse", context =>
        {
            Interlocked.Increment(ref attempts);
            context.Response.ContentType = "text/html";
            return context.Response.WriteAsync("<html></html>");
        }));
        await using var client = new EventSourceClient(FastOptions(server.Url("sse")));
        var errors = CollectErrors(client);

        var failure = await Assert.ThrowsAsync<EventSourceException>(() => ReadToEndAsync(client));

        Assert.Equal("text/html", failure.ContentType);
        Assert.Equal(HttpStatusCode.OK, failure.StatusCode);
        Assert.Equal(1, Volatile.Read(ref attempts));
        Assert.False(Assert.Single(errors).WillRetry);
    }

    [Theory]
    [InlineData(400)]
    [InlineData(401)]
    [InlineData(403)]
    [InlineData(404)]
    [InlineData(501)]
    public async Task Other_statuses_fail_for_good_with_the_servers_reason(int status)
    {
        var attempts = 0;
        await using var server = await TestServer.StartAsync(app => app.MapGet("/sse", context =>
        {
            Interlocked.Increment(ref attempts);
            context.Response.StatusCode = status;
            return context.Response.WriteAsync("\n  the reason  \nmore detail\n");
        }));
        await using var client = new EventSourceClient(FastOptions(server.Url("sse")));

        var failure = await Assert.ThrowsAsync<EventSourceException>(() => ReadToEndAsync(client));

        Assert.Equal((HttpStatusCode)status, failure.StatusCode);
        Assert.Equal("the reason", failure.Reason);
        Assert.StartsWith($"The server answered {status} ", failure.Message, StringComparison.Ordinal);
        Assert.EndsWith(": the reason", failure.Message, StringComparison.Ordinal);
        Assert.Equal(1, Volatile.Read(ref attempts));
    }

    [Fact]
    public async Task A_redirect_is_followed_and_reconnections_go_to_its_target()
    {
        var oldHits = 0;
        var streamHits = 0;
        await using var server = await TestServer.StartAsync(app =>
        {
            app.MapGet("/old", context =>
            {
                Interlocked.Increment(ref oldHits);
                context.Response.Redirect("/sse");
                return Task.CompletedTask;
            });
            app.MapGet("/sse", async context =>
            {
                var hit = Interlocked.Increment(ref streamHits);
                await TestServer.StartStreamAsync(context, $"id: {hit}\ndata: {hit}\n\n");
                if (hit > 1)
                {
                    await TestServer.HoldAsync(context);
                }
            });
        });
        await using var client = new EventSourceClient(FastOptions(server.Url("old")));
        var opened = new ConcurrentQueue<Uri>();
        client.Opened += (_, e) => opened.Enqueue(e.Url);

        var messages = await TakeAsync(client, 2);

        Assert.Equal(["1", "2"], messages.Select(m => m.Data));
        Assert.Equal(1, Volatile.Read(ref oldHits));
        Assert.Equal(2, Volatile.Read(ref streamHits));
        Assert.Equal([server.Url("sse"), server.Url("sse")], opened);
    }

    [Fact]
    public async Task When_the_redirect_target_fails_the_next_attempt_asks_the_original_url()
    {
        var oldHits = 0;
        var streamHits = 0;
        await using var server = await TestServer.StartAsync(app =>
        {
            app.MapGet("/old", context =>
            {
                Interlocked.Increment(ref oldHits);
                context.Response.Redirect("/sse");
                return Task.CompletedTask;
            });
            app.MapGet("/sse", async context =>
            {
                var hit = Interlocked.Increment(ref streamHits);
                if (hit == 2)
                {
                    context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
                    return;
                }

                await TestServer.StartStreamAsync(context, $"id: {hit}\ndata: {hit}\n\n");
                if (hit > 2)
                {
                    await TestServer.HoldAsync(context);
                }
            });
        });
        await using var client = new EventSourceClient(FastOptions(server.Url("old")));

        var messages = await TakeAsync(client, 2);

        Assert.Equal(["1", "3"], messages.Select(m => m.Data));
        Assert.Equal(2, Volatile.Read(ref oldHits));
    }

    [Fact]
    public async Task A_silent_connection_is_dropped_after_the_idle_timeout_and_resumed()
    {
        var lastEventIds = new ConcurrentQueue<string>();
        await using var server = await TestServer.StartAsync(app => app.MapGet("/sse", async context =>
        {
            var lastId = context.Request.Headers["Last-Event-ID"].ToString();
            lastEventIds.Enqueue(lastId);
            await TestServer.StartStreamAsync(context, lastId.Length == 0 ? "id: 1\ndata: a\n\n" : "id: 2\ndata: b\n\n");
            await TestServer.HoldAsync(context);
        }));
        await using var client = new EventSourceClient(FastOptions(server.Url("sse")) with
        {
            IdleTimeout = TimeSpan.FromMilliseconds(500),
        });
        var errors = CollectErrors(client);

        var messages = await TakeAsync(client, 2);

        Assert.Equal(["a", "b"], messages.Select(m => m.Data));
        Assert.Equal(["", "1"], lastEventIds.Take(2));
        var error = errors.First();
        Assert.IsType<TimeoutException>(error.Exception);
        Assert.True(error.WillRetry);
    }

    [Fact]
    public async Task Heartbeats_keep_a_quiet_connection_alive()
    {
        var connections = 0;
        await using var server = await TestServer.StartAsync(app => app.MapGet("/sse", async context =>
        {
            Interlocked.Increment(ref connections);
            await TestServer.StartStreamAsync(context);

            // Twice the idle timeout in all (timed here, so a slow machine sends more, never fewer), with a thirtieth
            // of it between bytes: a stall long enough to look idle would have to last 3 s.
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            while (System.Diagnostics.Stopwatch.GetElapsedTime(started) < 2 * QuietIdleTimeout)
            {
                await Task.Delay(100, context.RequestAborted);
                await TestServer.WriteAsync(context, ":\n\n");
            }

            await TestServer.WriteAsync(context, "data: still here\n\n");
            await TestServer.HoldAsync(context);
        }));
        await using var client = new EventSourceClient(FastOptions(server.Url("sse")) with
        {
            IdleTimeout = QuietIdleTimeout,
        });
        var errors = CollectErrors(client);

        var message = Assert.Single(await TakeAsync(client, 1));

        Assert.Equal("still here", message.Data);
        Assert.Empty(errors);
        Assert.Equal(1, Volatile.Read(ref connections));
    }

    [Fact]
    public async Task An_event_cut_off_by_the_end_of_the_stream_is_discarded_and_fetched_again()
    {
        var lastEventIds = new ConcurrentQueue<string>();
        await using var server = await TestServer.StartAsync(app => app.MapGet("/sse", async context =>
        {
            var lastId = context.Request.Headers["Last-Event-ID"].ToString();
            lastEventIds.Enqueue(lastId);
            if (lastId.Length == 0)
            {
                await TestServer.StartStreamAsync(context, "id: 1\ndata: a\n\nid: 2\ndata: b, cut sh");
                return;
            }

            await TestServer.StartStreamAsync(context, "id: 2\ndata: b\n\n");
            await TestServer.HoldAsync(context);
        }));
        await using var client = new EventSourceClient(FastOptions(server.Url("sse")));

        var messages = await TakeAsync(client, 2);

        Assert.Equal(["a", "b"], messages.Select(m => m.Data));
        Assert.Equal(["", "1"], lastEventIds.Take(2));
    }

    [Fact]
    public async Task A_later_enumeration_resumes_after_the_last_message_delivered()
    {
        var lastEventIds = new ConcurrentQueue<string>();
        await using var server = await TestServer.StartAsync(app => app.MapGet("/sse", async context =>
        {
            var lastId = context.Request.Headers["Last-Event-ID"].ToString();
            lastEventIds.Enqueue(lastId);
            var after = lastId.Length == 0 ? 0 : int.Parse(lastId, CultureInfo.InvariantCulture);

            // Everything in one write, so the client parses several events from one read.
            var text = new StringBuilder();
            for (var i = after + 1; i <= after + 3; i++)
            {
                text.Append(CultureInfo.InvariantCulture, $"id: {i}\ndata: {i}\n\n");
            }

            await TestServer.StartStreamAsync(context, text.ToString());
            await TestServer.HoldAsync(context);
        }));
        await using var client = new EventSourceClient(FastOptions(server.Url("sse")));

        var first = await TakeAsync(client, 1);
        var second = await TakeAsync(client, 1);

        Assert.Equal("1", Assert.Single(first).Data);
        Assert.Equal("2", Assert.Single(second).Data);
        Assert.Equal(["", "1"], lastEventIds.Take(2));
        Assert.Equal("2", client.LastEventId);
    }

    [Fact]
    public async Task A_non_ASCII_id_is_sent_back_as_UTF8()
    {
        var lastEventIds = new ConcurrentQueue<string>();
        await using var server = await TestServer.StartAsync(
            app => app.MapGet("/sse", async context =>
            {
                var lastId = context.Request.Headers["Last-Event-ID"].ToString();
                lastEventIds.Enqueue(lastId);
                if (lastId.Length == 0)
                {
                    await TestServer.StartStreamAsync(context, "id: ид-€\ndata: a\n\n");
                    return;
                }

                await TestServer.StartStreamAsync(context, "data: b\n\n");
                await TestServer.HoldAsync(context);
            }),
            builder => builder.WebHost.ConfigureKestrel(kestrel => kestrel.RequestHeaderEncodingSelector = _ => Encoding.UTF8));
        await using var client = new EventSourceClient(FastOptions(server.Url("sse")));

        var messages = await TakeAsync(client, 2);

        Assert.Equal(["a", "b"], messages.Select(m => m.Data));
        Assert.Equal(["", "ид-€"], lastEventIds.Take(2));
    }

    [Fact]
    public async Task Cancelling_the_token_ends_the_enumeration_with_OperationCanceledException()
    {
        await using var server = await TestServer.StartAsync(app => app.MapGet("/sse", async context =>
        {
            await TestServer.StartStreamAsync(context);
            await TestServer.HoldAsync(context);
        }));
        await using var client = new EventSourceClient(FastOptions(server.Url("sse")));
        using var cancel = new CancellationTokenSource(TestServer.Timeout);
        client.Opened += (_, _) => cancel.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => ReadToEndAsync(client, cancel.Token));
    }

    [Fact]
    public async Task Disposing_stops_a_running_enumeration_and_later_ones()
    {
        await using var server = await TestServer.StartAsync(app => app.MapGet("/sse", async context =>
        {
            await TestServer.StartStreamAsync(context);
            await TestServer.HoldAsync(context);
        }));
        var client = new EventSourceClient(FastOptions(server.Url("sse")));
        var opened = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        client.Opened += (_, _) => opened.TrySetResult();

        var reading = ReadToEndAsync(client);
        await opened.Task.WaitAsync(TestServer.Timeout);
        await client.DisposeAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => reading);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => ReadToEndAsync(client));
    }

    [Fact]
    public async Task Only_one_enumeration_runs_at_a_time()
    {
        await using var server = await TestServer.StartAsync(app => app.MapGet("/sse", async context =>
        {
            await TestServer.StartStreamAsync(context);
            await TestServer.HoldAsync(context);
        }));
        await using var client = new EventSourceClient(FastOptions(server.Url("sse")));
        var opened = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        client.Opened += (_, _) => opened.TrySetResult();
        using var cancel = new CancellationTokenSource(TestServer.Timeout);

        var first = ReadToEndAsync(client, cancel.Token);
        await opened.Task.WaitAsync(TestServer.Timeout);

        await Assert.ThrowsAsync<InvalidOperationException>(() => ReadToEndAsync(client));
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first);
    }

    [Fact]
    public void Options_are_validated()
    {
        Assert.Throws<ArgumentException>(() => new EventSourceClient(new EventSourceClientOptions { Url = new Uri("/relative", UriKind.Relative) }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new EventSourceClient(new EventSourceClientOptions
        {
            Url = new Uri("http://127.0.0.1/"),
            IdleTimeout = TimeSpan.Zero,
        }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new EventSourceClient(new EventSourceClientOptions
        {
            Url = new Uri("http://127.0.0.1/"),
            ReconnectDelay = TimeSpan.FromSeconds(-1),
        }));
    }

    private static EventSourceClientOptions FastOptions(Uri url) => new()
    {
        Url = url,
        ReconnectDelay = TimeSpan.FromMilliseconds(20),
        MaxReconnectDelay = TimeSpan.FromSeconds(1),
        IdleTimeout = TimeSpan.FromSeconds(60),
    };

    private static List<EventSourceErrorEventArgs> CollectErrors(EventSourceClient client)
    {
        // Raised on the enumerating thread, and read only after the enumeration has finished.
        var errors = new List<EventSourceErrorEventArgs>();
        client.Error += (_, e) => errors.Add(e);
        return errors;
    }

    /// <summary>Reads <paramref name="count"/> messages, then stops; fails if they do not arrive in time.</summary>
    private static async Task<List<SseMessage>> TakeAsync(EventSourceClient client, int count)
    {
        using var timeout = new CancellationTokenSource(TestServer.Timeout);
        var messages = new List<SseMessage>();
        try
        {
            await foreach (var message in client.ReadAllAsync(timeout.Token))
            {
                messages.Add(message);
                if (messages.Count == count)
                {
                    break;
                }
            }
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            throw new TimeoutException($"Only {messages.Count} of {count} messages arrived: {string.Join(", ", messages)}");
        }

        return messages;
    }

    /// <summary>Reads until the enumeration ends; a test's own token may stop it, otherwise the test timeout does.</summary>
    private static async Task<List<SseMessage>> ReadToEndAsync(EventSourceClient client, CancellationToken cancellationToken = default)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TestServer.Timeout);
        var messages = new List<SseMessage>();
        try
        {
            await foreach (var message in client.ReadAllAsync(timeout.Token))
            {
                messages.Add(message);
            }
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"The stream did not end; {messages.Count} messages arrived.");
        }

        return messages;
    }
}
