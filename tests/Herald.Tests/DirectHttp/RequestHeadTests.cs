using System.Buffers;
using System.Text;
using Herald.DirectHttp;

namespace Herald.Tests.DirectHttp;

/// <summary>
/// Which request heads the connection middleware serves itself (<see cref="RequestHead.Result.Ours"/>) and which it
/// leaves to Kestrel: anything unusual must be Kestrel's, byte for byte.
/// </summary>
public sealed class RequestHeadTests
{
    private const string HubPath = "/.well-known/mercure";

    private static RequestHead.Result Read(string text, out RequestHead? head)
        => Read(Encoding.Latin1.GetBytes(text), out head);

    private static RequestHead.Result Read(byte[] bytes, out RequestHead? head)
    {
        var buffer = new ReadOnlySequence<byte>(bytes);
        return RequestHead.TryRead(buffer, HubPath, out head, out _);
    }

    private static string Get(string target, string headers = "Host: hub.example\r\n", string version = "HTTP/1.1")
        => $"GET {target} {version}\r\n{headers}\r\n";

    [Fact]
    public void A_plain_subscription_is_ours_with_path_query_and_headers_as_sent()
    {
        var text = Get("/.well-known/mercure?topic=a&topic=b", "Host: hub.example\r\nAccept: text/event-stream\r\nX-Odd:   spaced value \t\r\n");

        var result = Read(text, out var head);

        Assert.Equal(RequestHead.Result.Ours, result);
        Assert.Equal("/.well-known/mercure", head!.Path);
        Assert.Equal("?topic=a&topic=b", head.QueryString);
        Assert.Equal(
            [new("Host", "hub.example"), new("Accept", "text/event-stream"), new("X-Odd", "spaced value")],
            head.Headers);
    }

    [Fact]
    public void The_end_is_just_after_the_blank_line_so_what_follows_stays_unread()
    {
        var head = Get("/.well-known/mercure?topic=a");
        var bytes = Encoding.ASCII.GetBytes(head + "TRAILING");
        var buffer = new ReadOnlySequence<byte>(bytes);

        var result = RequestHead.TryRead(buffer, HubPath, out _, out var end);

        Assert.Equal(RequestHead.Result.Ours, result);
        Assert.Equal(head.Length, buffer.Slice(buffer.Start, end).Length);
        Assert.Equal("TRAILING", Encoding.ASCII.GetString(buffer.Slice(end)));
    }

    [Fact]
    public void Without_a_query_the_query_string_is_empty()
    {
        Assert.Equal(RequestHead.Result.Ours, Read(Get("/.well-known/mercure"), out var head));
        Assert.Equal(string.Empty, head!.QueryString);
    }

    [Fact]
    public void The_path_matches_case_insensitively_as_routing_does()
    {
        Assert.Equal(RequestHead.Result.Ours, Read(Get("/.well-known/MERCURE?topic=a"), out var head));
        Assert.Equal("/.well-known/MERCURE", head!.Path);
    }

    [Theory]
    [InlineData("/")]
    [InlineData("/index.html")]
    [InlineData("/.well-known/mercure/subscriptions")]
    [InlineData("/.well-known/mercure/")]
    [InlineData("/.well-known/mercurex?topic=a")]
    [InlineData("/.well-known/merc%75re?topic=a")]
    [InlineData("/.well-known%2Fmercure?topic=a")]
    [InlineData("/.well-known/mercure#frag")]
    public void Another_path_or_an_escaped_one_is_not_ours(string target)
    {
        Assert.Equal(RequestHead.Result.NotOurs, Read(Get(target), out var head));
        Assert.Null(head);
    }

    [Theory]
    [InlineData("POST")]
    [InlineData("HEAD")]
    [InlineData("OPTIONS")]
    [InlineData("PUT")]
    [InlineData("get")]
    public void Another_method_is_not_ours(string method)
    {
        var text = $"{method} /.well-known/mercure?topic=a HTTP/1.1\r\nHost: h\r\n\r\n";
        Assert.Equal(RequestHead.Result.NotOurs, Read(text, out _));
    }

    [Theory]
    [InlineData("POST")]
    [InlineData("HEAD")]
    [InlineData("OPTIONS")]
    public void Another_method_is_refused_from_its_first_bytes_without_waiting_for_the_head(string method)
    {
        Assert.Equal(RequestHead.Result.NotOurs, Read(method + " /.well-kn", out _));
    }

    [Theory]
    [InlineData("HTTP/1.0")]
    [InlineData("HTTP/2.0")]
    [InlineData("HTTP/1.1 ")]
    [InlineData("http/1.1")]
    public void Another_version_is_not_ours(string version)
    {
        Assert.Equal(RequestHead.Result.NotOurs, Read(Get("/.well-known/mercure?topic=a", version: version), out _));
    }

    [Fact]
    public void The_HTTP2_preface_is_not_ours()
    {
        Assert.Equal(RequestHead.Result.NotOurs, Read("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", out _));
    }

    [Fact]
    public void An_absolute_form_target_is_not_ours()
    {
        Assert.Equal(RequestHead.Result.NotOurs, Read(Get("http://hub.example/.well-known/mercure?topic=a"), out _));
    }

    [Fact]
    public void Extra_spaces_in_the_request_line_are_not_ours()
    {
        Assert.Equal(RequestHead.Result.NotOurs, Read("GET  /.well-known/mercure?topic=a HTTP/1.1\r\nHost: h\r\n\r\n", out _));
        Assert.Equal(RequestHead.Result.NotOurs, Read("GET /.well-known/mercure?topic=a  HTTP/1.1\r\nHost: h\r\n\r\n", out _));
    }

    [Fact]
    public void A_missing_host_is_not_ours()
    {
        Assert.Equal(RequestHead.Result.NotOurs, Read(Get("/.well-known/mercure?topic=a", "Accept: */*\r\n"), out _));
    }

    [Fact]
    public void A_head_with_no_header_at_all_is_not_ours()
    {
        Assert.Equal(RequestHead.Result.NotOurs, Read("GET /.well-known/mercure?topic=a HTTP/1.1\r\n\r\n", out _));
    }

    [Fact]
    public void A_duplicate_host_is_not_ours()
    {
        Assert.Equal(RequestHead.Result.NotOurs, Read(Get("/.well-known/mercure?topic=a", "Host: a\r\nhost: b\r\n"), out _));
    }

    [Fact]
    public void A_zero_content_length_is_ours_but_a_body_is_not()
    {
        Assert.Equal(RequestHead.Result.Ours, Read(Get("/.well-known/mercure?topic=a", "Host: h\r\nContent-Length: 0\r\n"), out _));
        Assert.Equal(RequestHead.Result.NotOurs, Read(Get("/.well-known/mercure?topic=a", "Host: h\r\nContent-Length: 5\r\n"), out _));
        Assert.Equal(RequestHead.Result.NotOurs, Read(Get("/.well-known/mercure?topic=a", "Host: h\r\ncontent-length: 00\r\n"), out _));
    }

    [Theory]
    [InlineData("Transfer-Encoding: chunked")]
    [InlineData("transfer-encoding: identity")]
    [InlineData("Upgrade: websocket")]
    [InlineData("Upgrade: h2c")]
    [InlineData("HTTP2-Settings: AAMAAABkAAQAAP__")]
    [InlineData("Expect: 100-continue")]
    public void A_header_that_changes_the_exchange_is_not_ours(string header)
    {
        Assert.Equal(RequestHead.Result.NotOurs, Read(Get("/.well-known/mercure?topic=a", $"Host: h\r\n{header}\r\n"), out _));
    }

    [Theory]
    [InlineData((byte)0xE9)]
    [InlineData((byte)0x80)]
    [InlineData((byte)0x7F)]
    [InlineData((byte)0x00)]
    [InlineData((byte)0x1B)]
    public void A_byte_outside_printable_ascii_is_not_ours(byte odd)
    {
        var bytes = Encoding.ASCII.GetBytes(Get("/.well-known/mercure?topic=a", "Host: h\r\nX-Name: caf?\r\n"));
        bytes[Array.IndexOf(bytes, (byte)'?', bytes.Length - 10)] = odd;

        Assert.Equal(RequestHead.Result.NotOurs, Read(bytes, out _));
    }

    [Fact]
    public void A_non_ascii_byte_in_the_target_is_not_ours()
    {
        var bytes = Encoding.UTF8.GetBytes(Get("/.well-known/mercure?topic=caf\u00e9"));
        Assert.Equal(RequestHead.Result.NotOurs, Read(bytes, out _));
    }

    [Fact]
    public void An_obsolete_folded_header_line_is_not_ours()
    {
        Assert.Equal(RequestHead.Result.NotOurs, Read(Get("/.well-known/mercure?topic=a", "Host: h\r\nX-Long: first\r\n second\r\n"), out _));
        Assert.Equal(RequestHead.Result.NotOurs, Read(Get("/.well-known/mercure?topic=a", "Host: h\r\nX-Long: first\r\n\tsecond: x\r\n"), out _));
    }

    [Theory]
    [InlineData("NoColonHere")]
    [InlineData(": no name")]
    [InlineData("Name : space before colon")]
    [InlineData("Na me: space in name")]
    [InlineData("Name\u0001: control")]
    public void A_malformed_header_line_is_not_ours(string line)
    {
        Assert.Equal(RequestHead.Result.NotOurs, Read(Get("/.well-known/mercure?topic=a", $"Host: h\r\n{line}\r\n"), out _));
    }

    [Theory]
    [InlineData("GET /.well-known/mercure?topic=a HTTP/1.1\nHost: h\n\n")]
    [InlineData("GET /.well-known/mercure?topic=a HTTP/1.1\r\nHost: h\n\r\n")]
    [InlineData("GET / HTTP/1.1\nHost: h\n\n")]
    public void Bare_line_feeds_are_not_ours_and_are_not_waited_on(string text)
    {
        // Kestrel accepts LF line ends; waiting for a CRLF CRLF that never comes would hang the client.
        Assert.Equal(RequestHead.Result.NotOurs, Read(text, out _));
    }

    [Fact]
    public void A_lone_carriage_return_inside_a_header_is_not_ours()
    {
        Assert.Equal(RequestHead.Result.NotOurs, Read(Get("/.well-known/mercure?topic=a", "Host: h\r\nX-A: one\rtwo\r\n"), out _));
    }

    [Fact]
    public void A_doubled_content_length_is_not_ours_even_when_both_are_zero()
    {
        Assert.Equal(RequestHead.Result.NotOurs, Read(Get("/.well-known/mercure?topic=a", "Host: h\r\nContent-Length: 0\r\nContent-Length: 0\r\n"), out _));
    }

    [Theory]
    [InlineData("a b/c@d")]
    [InlineData("user@hub.example")]
    [InlineData("hub.example/path")]
    [InlineData("hub.example?x")]
    [InlineData("hub.example:")]
    [InlineData("hub.example:8o")]
    [InlineData("hub%2Eexample")]
    [InlineData("[::1")]
    [InlineData("")]
    public void A_host_that_is_not_a_plain_host_and_port_is_not_ours(string host)
    {
        Assert.Equal(RequestHead.Result.NotOurs, Read(Get("/.well-known/mercure?topic=a", $"Host: {host}\r\n"), out _));
    }

    [Theory]
    [InlineData("hub.example")]
    [InlineData("hub.example:8080")]
    [InlineData("127.0.0.1:5080")]
    [InlineData("[::1]:5080")]
    [InlineData("my_host-1.example~")]
    public void A_plain_host_is_ours(string host)
    {
        Assert.Equal(RequestHead.Result.Ours, Read(Get("/.well-known/mercure?topic=a", $"Host: {host}\r\n"), out _));
    }

    [Theory]
    [InlineData("GET /.well-known/mercure?topic=a\nb HTTP/1.1\r\nHost: h\r\n\r\n")]
    [InlineData("GET /.well-known/mercure?topic=a\rb HTTP/1.1\r\nHost: h\r\n\r\n")]
    [InlineData("GET /.well-known/mercure?topic=a\tb HTTP/1.1\r\nHost: h\r\n\r\n")]
    [InlineData("GET /.well-known/mercure?topic=a HTTP/1.1\r\nHost: h\r\nX-A: a\tb\nc\r\n\r\n")]
    public void A_line_break_or_tab_inside_the_target_or_a_bare_LF_in_a_header_is_not_ours(string text)
    {
        Assert.Equal(RequestHead.Result.NotOurs, Read(text, out _));
    }

    [Fact]
    public void More_header_fields_than_Kestrels_default_limit_are_not_ours()
    {
        var hundred = "Host: h\r\n" + string.Concat(Enumerable.Range(0, 99).Select(i => $"X-{i}: v\r\n"));
        Assert.Equal(RequestHead.Result.Ours, Read(Get("/.well-known/mercure?topic=a", hundred), out _));
        Assert.Equal(RequestHead.Result.NotOurs, Read(Get("/.well-known/mercure?topic=a", hundred + "X-last: v\r\n"), out _));
    }

    [Fact]
    public void A_request_line_over_Kestrels_default_limit_is_not_ours_even_before_it_ends()
    {
        var target = "/.well-known/mercure?topic=" + new string('a', 9 * 1024);
        Assert.Equal(RequestHead.Result.NotOurs, Read(Get(target), out _));
        Assert.Equal(RequestHead.Result.NotOurs, Read("GET " + target, out _));
    }

    [Fact]
    public void Headers_over_Kestrels_default_total_are_not_ours_even_before_they_end()
    {
        var big = $"Host: h\r\nX-A: {new string('v', 33 * 1024)}\r\n";
        Assert.Equal(RequestHead.Result.NotOurs, Read(Get("/.well-known/mercure?topic=a", big), out _));
        Assert.Equal(RequestHead.Result.NotOurs, Read("GET /.well-known/mercure?topic=a HTTP/1.1\r\n" + big, out _));
    }

    [Fact]
    public void Another_path_is_not_ours_as_soon_as_the_request_line_is_complete()
    {
        Assert.Equal(RequestHead.Result.NotOurs, Read("GET /other?topic=a HTTP/1.1\r\nHost: h\r\n", out _));
    }

    [Fact]
    public void The_query_keeps_its_escapes_verbatim()
    {
        var query = "?topic=https%3A%2F%2Fexample.com%2Fbooks%2F%7Bid%7D&lastEventID=urn%3Auuid%3Ax%20y&x=%E2%9C%93+z";

        Assert.Equal(RequestHead.Result.Ours, Read(Get("/.well-known/mercure" + query), out var head));
        Assert.Equal(query, head!.QueryString);
        Assert.Equal("/.well-known/mercure", head.Path);
    }

    [Fact]
    public void A_head_read_one_byte_at_a_time_needs_more_until_the_blank_line_then_is_ours()
    {
        var bytes = Encoding.ASCII.GetBytes(Get("/.well-known/mercure?topic=a", "Host: h\r\nAccept: text/event-stream\r\n"));

        for (var length = 0; length < bytes.Length; length++)
        {
            var partial = new ReadOnlySequence<byte>(bytes, 0, length);
            var result = RequestHead.TryRead(partial, HubPath, out var partialHead, out _);
            Assert.True(result == RequestHead.Result.NeedMore, $"after {length} bytes: {result}");
            Assert.Null(partialHead);
        }

        Assert.Equal(RequestHead.Result.Ours, Read(bytes, out var head));
        Assert.Equal("?topic=a", head!.QueryString);
    }

    [Fact]
    public void A_head_that_is_not_ours_is_never_ours_on_any_prefix()
    {
        var bytes = Encoding.ASCII.GetBytes(Get("/other?topic=a"));

        for (var length = 0; length <= bytes.Length; length++)
        {
            var partial = new ReadOnlySequence<byte>(bytes, 0, length);
            Assert.NotEqual(RequestHead.Result.Ours, RequestHead.TryRead(partial, HubPath, out _, out _));
        }

        Assert.Equal(RequestHead.Result.NotOurs, Read(bytes, out _));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(7)]
    [InlineData(64)]
    public void A_head_spread_over_many_segments_is_read_whole(int segmentSize)
    {
        var longValue = new string('v', 5000);
        var text = Get("/.well-known/mercure?topic=a&topic=b", $"Host: h\r\nX-Long: {longValue}\r\nAccept: text/event-stream\r\n");
        var bytes = Encoding.ASCII.GetBytes(text + "NEXT");
        var buffer = Segments(bytes, segmentSize);
        Assert.False(buffer.IsSingleSegment);

        var result = RequestHead.TryRead(buffer, HubPath, out var head, out var end);

        Assert.Equal(RequestHead.Result.Ours, result);
        Assert.Equal("?topic=a&topic=b", head!.QueryString);
        Assert.Equal(longValue, head.Headers.Single(h => h.Key == "X-Long").Value);
        Assert.Equal("NEXT", Encoding.ASCII.GetString(buffer.Slice(end)));
    }

    [Fact]
    public void A_head_split_right_inside_the_blank_line_is_found()
    {
        var text = Get("/.well-known/mercure?topic=a");
        var bytes = Encoding.ASCII.GetBytes(text);

        // Segments end between the CR LF CR LF bytes of the end of the head.
        var cut = bytes.Length - 3;
        var buffer = Join(bytes[..cut], bytes[cut..(cut + 1)], bytes[(cut + 1)..]);

        Assert.Equal(RequestHead.Result.Ours, RequestHead.TryRead(buffer, HubPath, out _, out var end));
        Assert.Equal(buffer.End, end);
    }

    [Fact]
    public void A_first_segment_shorter_than_the_method_is_still_judged_by_the_bytes_that_follow()
    {
        var bytes = Encoding.ASCII.GetBytes("POST /.well-known/mercure HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n");
        var buffer = Join(bytes[..2], bytes[2..]);

        Assert.Equal(RequestHead.Result.NotOurs, RequestHead.TryRead(buffer, HubPath, out _, out _));
    }

    [Fact]
    public void Another_hub_path_is_honoured()
    {
        var buffer = new ReadOnlySequence<byte>(Encoding.ASCII.GetBytes(Get("/hub?topic=a")));

        Assert.Equal(RequestHead.Result.Ours, RequestHead.TryRead(buffer, "/hub", out _, out _));
        Assert.Equal(RequestHead.Result.NotOurs, RequestHead.TryRead(buffer, HubPath, out _, out _));
    }

    [Fact]
    public void An_empty_buffer_needs_more()
    {
        Assert.Equal(RequestHead.Result.NeedMore, RequestHead.TryRead(ReadOnlySequence<byte>.Empty, HubPath, out _, out _));
    }

    private static ReadOnlySequence<byte> Segments(byte[] bytes, int size)
        => Join(bytes.Chunk(size).ToArray());

    private static ReadOnlySequence<byte> Join(params byte[][] parts)
    {
        var first = new Segment(parts[0], 0);
        var last = first;
        for (var i = 1; i < parts.Length; i++)
        {
            last = last.Append(parts[i]);
        }

        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(byte[] bytes, long runningIndex)
        {
            Memory = bytes;
            RunningIndex = runningIndex;
        }

        public Segment Append(byte[] bytes)
        {
            var next = new Segment(bytes, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
