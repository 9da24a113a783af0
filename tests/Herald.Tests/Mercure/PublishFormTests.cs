using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using Herald.Mercure;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.WebUtilities;

namespace Herald.Tests.Mercure;

/// <summary>
/// The publish endpoint parses urlencoded bodies itself; every case is checked against what ASP.NET Core's
/// form reader (<see cref="FormPipeReader"/>) makes of the same bytes, which is what the hub used to read.
/// </summary>
public sealed class PublishFormTests
{
    private static readonly FormOptions Limits = new();

    /// <summary>The fields (or the refusal) as one comparable line.</summary>
    private static string Describe(PublishForm form) =>
        $"topics=[{string.Join("|", form.Topics.Select(Show))}] data={Show(form.Data)} private={form.Private} id={Show(form.Id)} type={Show(form.Type)} retry={Show(form.Retry)}";

    private static string Show(string? value) =>
        value is null ? "null" : "<" + string.Concat(value.Select(c => c < 0x20 || char.IsSurrogate(c) || c == '\uFFFD' ? $"\\u{(int)c:X4}" : c.ToString())) + ">";

    private static string ParseHere(byte[] body, FormOptions? limits = null)
    {
        var error = PublishForm.TryParse(body, limits ?? Limits, out var form);
        return error is null ? Describe(form) : "refused: " + error;
    }

    private static async Task<string> ParseByFormReader(byte[] body, FormOptions? limits = null)
    {
        limits ??= Limits;

        // The form reader decodes in place, in the buffer it reads: give it a copy.
        var reader = new FormPipeReader(PipeReader.Create(new ReadOnlySequence<byte>(body.ToArray())))
        {
            ValueCountLimit = limits.ValueCountLimit,
            KeyLengthLimit = limits.KeyLengthLimit,
            ValueLengthLimit = limits.ValueLengthLimit,
        };
        try
        {
            var fields = await reader.ReadFormAsync().WaitAsync(TimeSpan.FromSeconds(30));
            return Describe(PublishForm.From(new FormCollection(fields)));
        }
        catch (InvalidDataException e)
        {
            return "refused: " + e.Message;
        }
    }

    private static async Task AssertSameAsFormReader(byte[] body, FormOptions? limits = null)
    {
        var expected = await ParseByFormReader(body, limits);
        Assert.Equal(expected, ParseHere(body, limits));
    }

    [Theory]
    [InlineData("topic=https%3A%2F%2Fexample.com%2Fbooks%2F1&data=hello+world")]
    [InlineData("topic=a&data=%2B+%25+%20")]
    [InlineData("topic=a&data=a%zzb")]
    [InlineData("topic=a&data=100%")]
    [InlineData("topic=a&data=%4")]
    [InlineData("topic=a&data=%C3")]
    [InlineData("topic=a&data=%C3%28")]
    [InlineData("topic=a&data=%C3%A9t%C3%A9")]
    [InlineData("topic=a&data=%E2%82%AC%F0%9F%9A%80")]
    [InlineData("topic=a&data=%C0%AF")]
    [InlineData("topic=a&data=%ED%A0%80")]
    [InlineData("topic=a&data=%F4%90%80%80")]
    [InlineData("topic=a&data=%FF%FE")]
    [InlineData("topic=a&data=%E2%82")]
    [InlineData("topic=a&data=%%41")]
    [InlineData("topic=a&id=a%00b")]
    [InlineData("topic=a&other=%00")]
    [InlineData("to%00pic=a")]
    [InlineData("topic=a&topic=b&topic=")]
    [InlineData("topic=a&data=1&data=&data=3")]
    [InlineData("topic=a&data=&data=")]
    [InlineData("topic=a&data=")]
    [InlineData("topic=a&id=1&id=2&type=x&type=&retry=5&retry=7")]
    [InlineData("topic=a&private")]
    [InlineData("topic=a&private=")]
    [InlineData("topic=a&private=off")]
    [InlineData("topic")]
    [InlineData("topic&data=x")]
    [InlineData("TOPIC=a&Data=b&PRIVATE=on&iD=c&TyPe=d&RETRY=1")]
    [InlineData("%74opic=a&d%61ta=b")]
    [InlineData("top+ic=a&topic+=b&+topic=c")]
    [InlineData("top\u0131c=a")]
    [InlineData("\u212Aey=a&topic=b")]
    [InlineData("=a&&&topic=b&")]
    [InlineData("&")]
    [InlineData("")]
    [InlineData("topic=a=b&data==")]
    [InlineData("topic=caf\u00e9&data=\u65e5\u672c\u8a9e \ud83c\udf89")]
    [InlineData("topic=a&data=line1%0Aline2%0D%0Aline3")]
    [InlineData("topic=a&data=raw\u0000nul")]
    [InlineData("topic=a&data=%E2%80%8E%E2%80%AE%E2%81%A6%EF%BB%BF%E2%80%A8")]
    [InlineData("topic=a&data=%EF%BF%BF%F4%8F%BF%BF%E0%80%80%C1%BF%F8%88%80%80%80")]
    [InlineData("topic=a&data=%C3%C3%A9%E2%E2%82%AC%F0%9F%F0%9F%9A%80")]
    [InlineData("topic=a&data=+%2B+%2b%252B")]
    [InlineData("topic=a&data=%00")]
    [InlineData("topic=a&data=%%00")]
    [InlineData("topic=a&data=%C3%00")]
    public async Task Gives_what_the_form_reader_gives(string body)
        => await AssertSameAsFormReader(Encoding.UTF8.GetBytes(body));

    [Fact]
    public async Task Invalid_UTF8_bytes_in_the_body_decode_as_the_form_reader_decodes_them()
    {
        await AssertSameAsFormReader([.. "topic=a&data="u8, 0xC3, 0x28, 0xFF, (byte)'x', 0xE2, 0x82]);
        await AssertSameAsFormReader([.. "topic=a&"u8, 0xFF, .. "=x&data=y"u8]);
    }

    [Fact]
    public void Topic_id_and_type_bytes_that_are_not_UTF8_are_named_even_beside_escapes()
    {
        Assert.Null(PublishForm.TryParse([.. "topic=a&data="u8, 0xFF, .. "&id=x"u8], Limits, out var form));
        Assert.Null(form.NotUtf8);

        Assert.Null(PublishForm.TryParse([.. "topic=a%C3%A9&id="u8, 0xC3, .. "%A9&type="u8, 0xFF], Limits, out form));
        Assert.Equal("id", form.NotUtf8);

        Assert.Null(PublishForm.TryParse([.. "type=%C3%A9&topic=%E2%82%AC"u8, 0xE2, 0x82], Limits, out form));
        Assert.Equal("topic", form.NotUtf8);

        Assert.Null(PublishForm.TryParse("topic=%FF&id=%C3&type=%ED%A0%80"u8, Limits, out form));
        Assert.Null(form.NotUtf8);
        Assert.Equal(["%FF"], form.Topics);
    }

    [Theory]
    [InlineData("topic=a&data=+", " ")]
    [InlineData("topic=a&data=%2B", "+")]
    [InlineData("topic=a&data=a+b%20c", "a b c")]
    [InlineData("topic=a&data=%C3%A9", "é")]
    [InlineData("topic=a&data=\u00e9", "é")]
    [InlineData("topic=a&data=%zz", "%zz")]
    [InlineData("topic=a&data=%C3", "%C3")]
    [InlineData("topic=a&data=%", "%")]
    [InlineData("topic=a&data=1&data=&data=3", "1,3")]
    [InlineData("topic=a&Data=x", "x")]
    public void Decodes_data(string body, string data)
    {
        Assert.Null(PublishForm.TryParse(Encoding.UTF8.GetBytes(body), Limits, out var form));
        Assert.Equal(data, form.Data);
    }

    [Fact]
    public void Reads_every_field()
    {
        Assert.Null(PublishForm.TryParse("topic=t1&topic=t2&data=d&private=on&id=i&type=y&retry=10"u8, Limits, out var form));

        Assert.Equal(["t1", "t2"], form.Topics);
        Assert.IsType<string[]>(form.Topics);
        Assert.Equal("d", form.Data);
        Assert.True(form.Private);
        Assert.Equal("i", form.Id);
        Assert.Equal("y", form.Type);
        Assert.Equal("10", form.Retry);
    }

    [Fact]
    public void Without_fields_nothing_is_set()
    {
        Assert.Null(PublishForm.TryParse("unrelated=1"u8, Limits, out var form));

        Assert.Empty(form.Topics);
        Assert.Null(form.Data);
        Assert.False(form.Private);
        Assert.Null(form.Id);
        Assert.Null(form.Type);
        Assert.Null(form.Retry);
    }

    [Fact]
    public void An_escaped_NUL_is_refused_with_the_form_readers_reason()
    {
        Assert.Equal(PublishForm.InvalidCharacters, PublishForm.TryParse("topic=a&data=x%00"u8, Limits, out _));
        Assert.Equal("The form value contains invalid characters.", PublishForm.InvalidCharacters);
    }

    [Fact]
    public async Task The_limits_and_their_messages_are_the_form_readers()
    {
        var small = new FormOptions { KeyLengthLimit = 8, ValueLengthLimit = 16, ValueCountLimit = 3 };

        foreach (var body in new[]
        {
            "topic=a&data=0123456789abcdef",
            "topic=a&data=0123456789abcdefg",
            "topic=a&0123456789=x",
            "topic=a&01234567=x",
            "topic=a&0123456789",
            "topic=a&b=1&c=2",
            "topic=a&b=1&c=2&d=3",
            "topic=a&b=1&c=2&d=%00",
            "a=1&b=2&c=3&topic=",
        })
        {
            await AssertSameAsFormReader(Encoding.UTF8.GetBytes(body), small);
        }

        Assert.Equal("refused: Form value count limit 3 exceeded.", ParseHere("a=1&b=2&c=3&d=4"u8.ToArray(), small));
        Assert.Equal("refused: Form key length limit 8 exceeded.", ParseHere("012345678=1"u8.ToArray(), small));
        Assert.Equal("refused: Form value length limit 16 exceeded.", ParseHere("a=0123456789abcdefg"u8.ToArray(), small));
    }

    [Fact]
    public async Task Random_bodies_give_what_the_form_reader_gives()
    {
        // Fixed seed: the same bodies every run. Pieces that stress the decoder: escapes whole, cut and invalid,
        // UTF-8 sequences escaped and raw, separators, and the keys the hub reads in every case.
        string[] pieces =
        [
            "topic", "TOPIC", "data", "Data", "private", "id", "type", "retry", "x", "=", "=", "&", "&", "+", "%",
            "%2", "%20", "%2B", "%25", "%3D", "%26", "%00", "%0A", "%0D", "%C3", "%A9", "%C3%A9", "%E2%82%AC", "%F0%9F%9A%80",
            "%ED%A0%80", "%C0%AF", "%F4%90%80%80", "%FF", "%zz", "%a", "%Ab", "é", "日本", "🎉", "a", "b", "1", " ",
        ];
        var random = new Random(20_250_601);
        for (var i = 0; i < 3000; i++)
        {
            var body = new StringBuilder();
            var count = random.Next(1, 16);
            for (var p = 0; p < count; p++)
            {
                body.Append(pieces[random.Next(pieces.Length)]);
            }

            var bytes = Encoding.UTF8.GetBytes(body.ToString());
            var expected = await ParseByFormReader(bytes);
            Assert.True(expected == ParseHere(bytes), $"body {body}: expected {expected}, got {ParseHere(bytes)}");
        }
    }

    [Theory]
    [InlineData("", "")]
    [InlineData("plain", "plain")]
    [InlineData("a+b", "a b")]
    [InlineData("%41%42", "AB")]
    [InlineData("%4a%6B", "Jk")]
    [InlineData("%", "%")]
    [InlineData("%4", "%4")]
    [InlineData("%G1", "%G1")]
    [InlineData("%C3%A9", "é")]
    [InlineData("%C3%A9%C3", "é%C3")]
    [InlineData("%E2%82%AC", "€")]
    [InlineData("%E2%82", "%E2%82")]
    [InlineData("%F0%9F%9A%80", "🚀")]
    [InlineData("%C0%80", "%C0%80")]
    [InlineData("%ED%BF%BF", "%ED%BF%BF")]
    [InlineData("%80", "%80")]
    public void Decodes_escapes_as_UrlDecoder_does_in_form_mode(string source, string expected)
    {
        Assert.True(FormDecoder.TryDecode(Encoding.UTF8.GetBytes(source), materialize: true, out var decoded));

        Assert.Equal(expected, decoded);
    }

    [Fact]
    public void Decoding_an_escaped_NUL_fails()
    {
        Assert.False(FormDecoder.TryDecode("a%00"u8, materialize: true, out _));
        Assert.False(FormDecoder.TryDecode("a%00"u8, materialize: false, out _));
    }
}
