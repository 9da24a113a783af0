using System.Text;

namespace Herald.Client.Tests;

/// <summary>
/// The WHATWG parsing rules, each run with LF, CR and CRLF line ends and fed whole, a byte at a time (with empty reads
/// in between), in chunks of three, and cut at every line end so that a CRLF arrives as CR | LF.
/// Templates are written with "\n"; it is replaced by the line end under test.
/// </summary>
public sealed class SseParserTests
{
    public static TheoryData<string, string> Modes()
    {
        var data = new TheoryData<string, string>();
        foreach (var lineEnd in new[] { "LF", "CR", "CRLF" })
        {
            foreach (var feeding in new[] { "Whole", "OneByte", "OneByteWithEmptyReads", "ThreeBytes", "CutAtLineEnds" })
            {
                data.Add(lineEnd, feeding);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public void A_data_line_and_a_blank_line_dispatch_a_message(string lineEnd, string feeding)
    {
        var messages = Parse("data: hello\n\n", lineEnd, feeding);

        Assert.Equal([new SseMessage("hello", "message", "")], messages);
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public void Data_lines_are_joined_with_LF(string lineEnd, string feeding)
    {
        var messages = Parse("data: a\ndata: b\ndata: c\n\n", lineEnd, feeding);

        Assert.Equal("a\nb\nc", Assert.Single(messages).Data);
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public void Only_one_trailing_LF_is_dropped_at_dispatch(string lineEnd, string feeding)
    {
        var messages = Parse("data: a\ndata:\n\ndata\ndata\n\n", lineEnd, feeding);

        Assert.Equal(["a\n", "\n"], messages.Select(m => m.Data));
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public void The_value_loses_exactly_one_leading_space(string lineEnd, string feeding)
    {
        var messages = Parse("data:none\n\ndata: one\n\ndata:  two\n\ndata:\ttab\n\n", lineEnd, feeding);

        Assert.Equal(["none", "one", " two", "\ttab"], messages.Select(m => m.Data));
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public void The_line_splits_at_the_first_colon(string lineEnd, string feeding)
    {
        var messages = Parse("data: a: b:c\n\ndata::\n\n", lineEnd, feeding);

        Assert.Equal(["a: b:c", ":"], messages.Select(m => m.Data));
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public void A_line_without_a_colon_is_a_field_with_an_empty_value(string lineEnd, string feeding)
    {
        // "data" alone appends an empty line; "event" alone sets the empty type, which means "message".
        var messages = Parse("event: x\nevent\ndata\n\n", lineEnd, feeding);

        Assert.Equal([new SseMessage("", "message", "")], messages);
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public void Field_names_are_exact_and_unknown_fields_are_ignored(string lineEnd, string feeding)
    {
        var messages = Parse("foo: bar\nDATA: no\ndata : no\n data: no\ndata: yes\n\n", lineEnd, feeding);

        Assert.Equal("yes", Assert.Single(messages).Data);
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public void Comments_are_ignored_and_do_not_dispatch(string lineEnd, string feeding)
    {
        var messages = Parse(":\n: heartbeat\ndata: a\n:data: b\n\n:\n\n", lineEnd, feeding);

        Assert.Equal("a", Assert.Single(messages).Data);
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public void The_event_field_sets_the_type_of_that_event_only(string lineEnd, string feeding)
    {
        var messages = Parse("event: add\ndata: 1\n\ndata: 2\n\nevent: add\ndata: 3\n\n", lineEnd, feeding);

        Assert.Equal(["add", "message", "add"], messages.Select(m => m.EventType));
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public void An_id_applies_to_its_event_and_those_after_it(string lineEnd, string feeding)
    {
        var messages = Parse("id: 1\ndata: a\n\ndata: b\n\nid: 2\ndata: c\n\n", lineEnd, feeding);

        Assert.Equal(["1", "1", "2"], messages.Select(m => m.LastEventId));
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public void An_empty_id_resets_the_last_event_id(string lineEnd, string feeding)
    {
        var messages = Parse("id: 1\ndata: a\n\nid\ndata: b\n\nid: 2\ndata: c\n\nid:\ndata: d\n\n", lineEnd, feeding);

        Assert.Equal(["1", "", "2", ""], messages.Select(m => m.LastEventId));
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public void An_event_without_data_dispatches_nothing_but_commits_its_id(string lineEnd, string feeding)
    {
        using var parser = new SseParser();
        var messages = Feed(parser, Encode("id: 7\nevent: ping\n\n", lineEnd), feeding);

        Assert.Empty(messages);
        Assert.Equal("7", parser.LastEventId);

        // The event type was reset with the buffer; the committed id carries on.
        messages = Feed(parser, Encode("data: x\n\n", lineEnd), feeding);
        Assert.Equal([new SseMessage("x", "message", "7")], messages);
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public void An_id_is_committed_only_when_its_event_is_dispatched(string lineEnd, string feeding)
    {
        using var parser = new SseParser();
        Feed(parser, Encode("data: a\nid: 3\n", lineEnd), feeding);

        Assert.Equal("", parser.LastEventId);
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public void An_id_containing_NUL_is_ignored(string lineEnd, string feeding)
    {
        using var parser = new SseParser();
        var messages = Feed(parser, Encode("id: 1\ndata: a\n\nid: 2\0x\ndata: b\n\nid: \0\n\n", lineEnd), feeding);

        Assert.Equal(["1", "1"], messages.Select(m => m.LastEventId));
        Assert.Equal("1", parser.LastEventId);
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public void Retry_with_only_ASCII_digits_sets_the_reconnection_time(string lineEnd, string feeding)
    {
        using var parser = new SseParser();
        Feed(parser, Encode("retry: 1500\n", lineEnd), feeding);

        Assert.Equal(TimeSpan.FromMilliseconds(1500), parser.ReconnectionTime);
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public void Retry_that_is_not_all_digits_is_ignored(string lineEnd, string feeding)
    {
        using var parser = new SseParser();
        Feed(parser, Encode("retry: 1500\n", lineEnd), feeding);

        foreach (var bogus in new[] { "retry: 15x", "retry: -1", "retry: +1", "retry: 1.5", "retry:  15", "retry: 1 ", "retry:", "retry", "retry: ١٢" })
        {
            Feed(parser, Encode(bogus + "\n", lineEnd), feeding);
            Assert.Equal(TimeSpan.FromMilliseconds(1500), parser.ReconnectionTime);
        }
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public void Retry_takes_effect_without_a_dispatch(string lineEnd, string feeding)
    {
        using var parser = new SseParser();
        var messages = Feed(parser, Encode("retry: 0\n", lineEnd), feeding);

        Assert.Empty(messages);
        Assert.Equal(TimeSpan.Zero, parser.ReconnectionTime);
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public void An_unterminated_event_at_the_end_of_the_stream_is_discarded(string lineEnd, string feeding)
    {
        using var parser = new SseParser();
        var messages = Feed(parser, Encode("id: 1\ndata: a\n\nid: 2\ndata: b\n", lineEnd), feeding);
        Assert.Equal("a", Assert.Single(messages).Data);

        // A new stream does not continue the cut-off event, nor inherit its uncommitted id.
        parser.Reset();
        messages = Feed(parser, Encode("data: c\n\n", lineEnd), feeding);

        Assert.Equal([new SseMessage("c", "message", "1")], messages);
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public void An_unterminated_line_at_the_end_of_the_stream_is_discarded(string lineEnd, string feeding)
    {
        using var parser = new SseParser();
        Feed(parser, Encode("data: a", lineEnd), feeding);
        parser.Reset();
        var messages = Feed(parser, Encode("\ndata: b\n\n", lineEnd), feeding);

        Assert.Equal("b", Assert.Single(messages).Data);
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public void A_leading_BOM_is_stripped(string lineEnd, string feeding)
    {
        var messages = Parse("\uFEFFdata: a\n\n", lineEnd, feeding);

        Assert.Equal("a", Assert.Single(messages).Data);
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public void Only_one_leading_BOM_is_stripped(string lineEnd, string feeding)
    {
        // The second BOM becomes part of the field name, which then matches nothing.
        var messages = Parse("\uFEFF\uFEFFdata: a\n\ndata: b\n\n", lineEnd, feeding);

        Assert.Equal("b", Assert.Single(messages).Data);
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public void A_BOM_in_mid_stream_is_content(string lineEnd, string feeding)
    {
        var messages = Parse("data: a\n\n\uFEFFdata: b\n\ndata: \uFEFFc\n\n", lineEnd, feeding);

        Assert.Equal(["a", "\uFEFFc"], messages.Select(m => m.Data));
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public void Bytes_that_only_begin_like_a_BOM_stay_in_the_first_line(string lineEnd, string feeding)
    {
        // EF BB without BF: the first line is "\uFFFDdata: a" (an unknown field); the next event is intact.
        var bytes = Concat([0xEF, 0xBB], Encode("data: a\n\ndata: b\n\n", lineEnd));
        var messages = Feed(new SseParser(), bytes, feeding);

        Assert.Equal("b", Assert.Single(messages).Data);
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public void Bytes_that_begin_like_a_BOM_then_end_the_line_are_not_lost(string lineEnd, string feeding)
    {
        // EF then a line end: the line is just an unknown field; nothing else is disturbed.
        var bytes = Concat([0xEF], Encode("\ndata: a\n\n", lineEnd));
        var messages = Feed(new SseParser(), bytes, feeding);

        Assert.Equal("a", Assert.Single(messages).Data);
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public void Every_new_stream_may_start_with_a_BOM(string lineEnd, string feeding)
    {
        using var parser = new SseParser();
        Feed(parser, Encode("\uFEFFdata: a\n\n", lineEnd), feeding);
        parser.Reset();
        var messages = Feed(parser, Encode("\uFEFFdata: b\n\n", lineEnd), feeding);

        Assert.Equal("b", Assert.Single(messages).Data);
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public void Multi_byte_characters_survive_any_chunking(string lineEnd, string feeding)
    {
        // 2-, 3- and 4-byte sequences in data, type and id; fed a byte at a time each is split across reads.
        var messages = Parse("event: ünïcode\nid: ид-€\ndata: héllo € 𝄞 中文\ndata: 😀\n\n", lineEnd, feeding);

        Assert.Equal([new SseMessage("héllo € 𝄞 中文\n😀", "ünïcode", "ид-€")], messages);
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public void Invalid_UTF8_decodes_to_replacement_characters(string lineEnd, string feeding)
    {
        var bytes = Concat(Encode("data: a", lineEnd), [0xFF, 0xC3], Encode("\ndata: b\n\n", lineEnd));
        var messages = Feed(new SseParser(), bytes, feeding);

        Assert.Equal("a\uFFFD\uFFFD\nb", Assert.Single(messages).Data);
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public void Long_lines_span_many_reads(string lineEnd, string feeding)
    {
        var payload = string.Concat(Enumerable.Repeat("0123456789€", 10_000));
        var messages = Parse($"data: {payload}\ndata: {payload}\n\ndata: small\n\n", lineEnd, feeding);

        Assert.Equal([payload + "\n" + payload, "small"], messages.Select(m => m.Data));
    }

    [Theory]
    [InlineData("Whole")]
    [InlineData("OneByte")]
    [InlineData("OneByteWithEmptyReads")]
    [InlineData("ThreeBytes")]
    [InlineData("CutAtLineEnds")]
    public void Line_ends_may_be_mixed_and_CR_CR_is_two_line_ends(string feeding)
    {
        var bytes = Encoding.UTF8.GetBytes("data: a\rdata: b\r\ndata: c\n\r\ndata: d\r\r\n\ndata: e\n\r");
        var messages = Feed(new SseParser(), bytes, feeding);

        Assert.Equal(["a\nb\nc", "d", "e"], messages.Select(m => m.Data));
    }

    [Fact]
    public void A_CR_ending_one_read_and_an_LF_starting_the_next_are_one_line_end()
    {
        using var parser = new SseParser();
        var messages = new List<SseMessage>();
        parser.Parse("data: a\r"u8, messages);
        parser.Parse("\ndata: b\r"u8, messages);
        parser.Parse([], messages);
        parser.Parse("\n\r"u8, messages);
        parser.Parse("\n"u8, messages);

        Assert.Equal("a\nb", Assert.Single(messages).Data);
    }

    [Fact]
    public void An_LF_after_a_CR_that_ended_the_previous_stream_is_a_line_end_of_its_own()
    {
        using var parser = new SseParser();
        var messages = new List<SseMessage>();
        parser.Parse("data: a\r\r"u8, messages);
        parser.Reset();
        parser.Parse("\ndata: b\n\n"u8, messages);

        Assert.Equal(["a", "b"], messages.Select(m => m.Data));
    }

    [Fact]
    public void A_huge_retry_saturates_instead_of_throwing()
    {
        using var parser = new SseParser();
        parser.Parse("retry: 99999999999999999999999999999\n"u8, []);

        Assert.True(parser.ReconnectionTime > TimeSpan.FromDays(10_000));
    }

    [Fact]
    public void The_initial_last_event_id_is_reported_until_the_stream_sets_another()
    {
        using var parser = new SseParser("41");
        var messages = new List<SseMessage>();
        parser.Parse("data: a\n\nid: 42\ndata: b\n\n"u8, messages);

        Assert.Equal(["41", "42"], messages.Select(m => m.LastEventId));
    }

    [Fact]
    public void Reset_keeps_the_committed_id_and_the_reconnection_time()
    {
        using var parser = new SseParser();
        parser.Parse("retry: 10\nid: 5\n\n"u8, []);
        parser.Reset();

        Assert.Equal("5", parser.LastEventId);
        Assert.Equal(TimeSpan.FromMilliseconds(10), parser.ReconnectionTime);
    }

    [Fact]
    public void A_repeated_event_type_is_decoded_once()
    {
        using var parser = new SseParser();
        var messages = new List<SseMessage>();
        parser.Parse("event: tick\ndata: 1\n\nevent: tick\ndata: 2\n\nevent: tock\ndata: 3\n\n"u8, messages);

        Assert.Same(messages[0].EventType, messages[1].EventType);
        Assert.Equal("tock", messages[2].EventType);
    }

    private static List<SseMessage> Parse(string template, string lineEnd, string feeding)
    {
        using var parser = new SseParser();
        return Feed(parser, Encode(template, lineEnd), feeding);
    }

    private static List<SseMessage> Feed(SseParser parser, byte[] bytes, string feeding)
    {
        var messages = new List<SseMessage>();
        foreach (var chunk in Chunks(bytes, feeding))
        {
            parser.Parse(chunk.Span, messages);
        }

        return messages;
    }

    private static IEnumerable<ReadOnlyMemory<byte>> Chunks(byte[] bytes, string feeding)
    {
        switch (feeding)
        {
            case "Whole":
                yield return bytes;
                break;
            case "OneByte":
                for (var i = 0; i < bytes.Length; i++)
                {
                    yield return bytes.AsMemory(i, 1);
                }

                break;
            case "OneByteWithEmptyReads":
                for (var i = 0; i < bytes.Length; i++)
                {
                    yield return ReadOnlyMemory<byte>.Empty;
                    yield return bytes.AsMemory(i, 1);
                }

                yield return ReadOnlyMemory<byte>.Empty;
                break;
            case "ThreeBytes":
                for (var i = 0; i < bytes.Length; i += 3)
                {
                    yield return bytes.AsMemory(i, Math.Min(3, bytes.Length - i));
                }

                break;
            case "CutAtLineEnds":
                // A cut after every CR and before every LF: CRLF arrives as CR | LF.
                var start = 0;
                for (var i = 1; i < bytes.Length; i++)
                {
                    if (bytes[i - 1] == '\r' || bytes[i] == '\n')
                    {
                        yield return bytes.AsMemory(start, i - start);
                        start = i;
                    }
                }

                yield return bytes.AsMemory(start);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(feeding), feeding, null);
        }
    }

    private static byte[] Encode(string template, string lineEnd) => Encoding.UTF8.GetBytes(template.Replace("\n", lineEnd switch
    {
        "LF" => "\n",
        "CR" => "\r",
        "CRLF" => "\r\n",
        _ => throw new ArgumentOutOfRangeException(nameof(lineEnd), lineEnd, null),
    }));

    private static byte[] Concat(params byte[][] parts) => parts.SelectMany(p => p).ToArray();
}
