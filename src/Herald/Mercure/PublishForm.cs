using System.Buffers;
using System.Text;
using System.Text.Unicode;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Herald.Mercure;

/// <summary>
/// The fields of a publish form the hub reads (<c>topic</c>, <c>data</c>, <c>private</c>, <c>id</c>, <c>type</c>,
/// <c>retry</c>), read either from ASP.NET Core's form collection or straight from the bytes of an
/// <c>application/x-www-form-urlencoded</c> body.
/// </summary>
/// <remarks>
/// The byte parser gives exactly what <see cref="Microsoft.AspNetCore.WebUtilities.FormPipeReader"/> would (the
/// tests compare the two): keys matched case-insensitively after decoding, <c>+</c> as a space, <c>%XX</c> escapes
/// decoded when they form valid UTF-8 and kept as they are otherwise, a pair without <c>=</c> as a key with an
/// empty value, an escaped NUL refused, and the same limits with the same messages. It exists because the form
/// collection costs a dictionary, a string per key and a <c>StringValues</c> per field for every publish, where
/// this keeps only the strings an update needs.
/// </remarks>
internal sealed class PublishForm
{
    /// <summary>The reason FormPipeReader gives for an escaped NUL.</summary>
    public const string InvalidCharacters = "The form value contains invalid characters.";

    private const int StackDecodeLimit = 256;

    private string[] _topics = [];
    private int _topicCount;
    private string? _data;
    private List<string>? _moreData;

    /// <summary>Every <c>topic</c> value, in order: an array of exactly that length, for the update to keep.</summary>
    public IReadOnlyList<string> Topics
    {
        get
        {
            if (_topics.Length != _topicCount)
            {
                Array.Resize(ref _topics, _topicCount);
            }

            return _topics;
        }
    }

    /// <summary>
    /// The <c>data</c> value, or <c>null</c> without one. Several are joined as <c>StringValues</c> prints them: the
    /// non-empty ones, separated by commas.
    /// </summary>
    public string? Data => _moreData is null ? _data : string.Join(',', _moreData.Where(static value => value.Length > 0));

    /// <summary>Whether a <c>private</c> key is present, whatever its value.</summary>
    public bool Private { get; private set; }

    /// <summary>The last <c>id</c> value.</summary>
    public string? Id { get; private set; }

    /// <summary>The last <c>type</c> value.</summary>
    public string? Type { get; private set; }

    /// <summary>The last <c>retry</c> value.</summary>
    public string? Retry { get; private set; }

    /// <summary>
    /// The first of <c>topic</c>, <c>id</c> and <c>type</c> whose bytes are not valid UTF-8 (they read as U+FFFD), or
    /// <c>null</c>. Known only for a body parsed here (<see cref="TryParse"/>); the form collection has already
    /// replaced such bytes.
    /// </summary>
    public string? NotUtf8 { get; private set; }

    private enum Field
    {
        Other,
        Topic,
        Data,
        Private,
        Id,
        Type,
        Retry,
    }

    /// <summary>The fields of a form ASP.NET Core has read (multipart bodies, other charsets).</summary>
    public static PublishForm From(IFormCollection form)
    {
        ArgumentNullException.ThrowIfNull(form);
        var fields = new PublishForm();
        foreach (var (key, values) in form)
        {
            var field = Identify(key);
            if (field == Field.Other)
            {
                continue;
            }

            foreach (var value in values)
            {
                fields.Add(field, value ?? string.Empty);
            }
        }

        return fields;
    }

    /// <summary>
    /// Parses a whole <c>application/x-www-form-urlencoded</c> body in UTF-8. Returns <c>null</c> when it is valid,
    /// otherwise the message FormPipeReader would throw (an <see cref="InvalidDataException"/> message).
    /// </summary>
    public static string? TryParse(ReadOnlySpan<byte> body, FormOptions limits, out PublishForm form)
    {
        ArgumentNullException.ThrowIfNull(limits);
        form = new PublishForm();
        var count = 0;
        while (body.Length > 0)
        {
            ReadOnlySpan<byte> pair;
            var ampersand = body.IndexOf((byte)'&');
            if (ampersand >= 0)
            {
                pair = body[..ampersand];
                body = body[(ampersand + 1)..];
            }
            else
            {
                pair = body;
                body = default;
            }

            ReadOnlySpan<byte> key;
            ReadOnlySpan<byte> value;
            var equals = pair.IndexOf((byte)'=');
            if (equals < 0)
            {
                if (pair.Length > limits.KeyLengthLimit)
                {
                    return $"Form key length limit {limits.KeyLengthLimit} exceeded.";
                }

                key = pair;
                value = default;
            }
            else
            {
                key = pair[..equals];
                if (key.Length > limits.KeyLengthLimit)
                {
                    return $"Form key length limit {limits.KeyLengthLimit} exceeded.";
                }

                value = pair[(equals + 1)..];
                if (value.Length > limits.ValueLengthLimit)
                {
                    return $"Form value length limit {limits.ValueLengthLimit} exceeded.";
                }
            }

            if (!TryIdentify(key, out var field)
                || !TryDecode(value, materialize: field != Field.Other, checkUtf8: field is Field.Topic or Field.Id or Field.Type, out var decoded, out var isUtf8))
            {
                return InvalidCharacters;
            }

            if (!isUtf8)
            {
                form.NotUtf8 ??= field switch { Field.Topic => "topic", Field.Id => "id", _ => "type" };
            }

            if (++count > limits.ValueCountLimit)
            {
                return $"Form value count limit {limits.ValueCountLimit} exceeded.";
            }

            form.Add(field, decoded!);
        }

        return null;
    }

    /// <summary>
    /// Decodes <paramref name="source"/> as FormPipeReader does (ASP.NET Core's UrlDecoder in form mode): <c>+</c>
    /// becomes a space, a <c>%XX</c> sequence that forms valid UTF-8 becomes its bytes, anything else stays as it
    /// is. Returns the length written to <paramref name="destination"/> (never longer than the source), or -1 when
    /// an escape decodes to NUL.
    /// </summary>
    internal static int Decode(ReadOnlySpan<byte> source, Span<byte> destination)
    {
        var read = 0;
        var written = 0;
        while (read < source.Length)
        {
            var b = source[read];
            if (b == (byte)'+')
            {
                destination[written++] = (byte)' ';
                read++;
            }
            else if (b == (byte)'%')
            {
                var start = read;
                var decoded = DecodeEscapes(source, ref read, destination, ref written);
                if (decoded < 0)
                {
                    return -1;
                }

                if (decoded == 0)
                {
                    // Not valid UTF-8: what was scanned goes through untouched.
                    source[start..read].CopyTo(destination[written..]);
                    written += read - start;
                }
            }
            else
            {
                destination[written++] = b;
                read++;
            }
        }

        return written;
    }

    private void Add(Field field, string value)
    {
        switch (field)
        {
            case Field.Topic:
                if (_topicCount == _topics.Length)
                {
                    Array.Resize(ref _topics, Math.Max(1, _topicCount * 2));
                }

                _topics[_topicCount++] = value;
                break;
            case Field.Data:
                if (_data is null)
                {
                    _data = value;
                }
                else
                {
                    (_moreData ??= [_data]).Add(value);
                }

                break;
            case Field.Private:
                Private = true;
                break;
            case Field.Id:
                Id = value;
                break;
            case Field.Type:
                Type = value;
                break;
            case Field.Retry:
                Retry = value;
                break;
        }
    }

    /// <summary>Which field a raw key names; <c>false</c> when decoding it meets an escaped NUL.</summary>
    private static bool TryIdentify(ReadOnlySpan<byte> key, out Field field)
    {
        // The usual key is plain ASCII; for it, ASCII case folding is what OrdinalIgnoreCase does.
        if (key.IndexOfAny((byte)'%', (byte)'+') < 0 && Ascii.IsValid(key))
        {
            field = key.Length switch
            {
                2 when Ascii.EqualsIgnoreCase(key, "id"u8) => Field.Id,
                4 when Ascii.EqualsIgnoreCase(key, "data"u8) => Field.Data,
                4 when Ascii.EqualsIgnoreCase(key, "type"u8) => Field.Type,
                5 when Ascii.EqualsIgnoreCase(key, "topic"u8) => Field.Topic,
                5 when Ascii.EqualsIgnoreCase(key, "retry"u8) => Field.Retry,
                7 when Ascii.EqualsIgnoreCase(key, "private"u8) => Field.Private,
                _ => Field.Other,
            };
            return true;
        }

        if (!TryDecode(key, materialize: true, checkUtf8: false, out var decoded, out _))
        {
            field = Field.Other;
            return false;
        }

        field = Identify(decoded!);
        return true;
    }

    private static Field Identify(string key)
    {
        // As the form collection's dictionary compares keys.
        static bool Is(string key, string name) => string.Equals(key, name, StringComparison.OrdinalIgnoreCase);
        return key switch
        {
            _ when Is(key, "topic") => Field.Topic,
            _ when Is(key, "data") => Field.Data,
            _ when Is(key, "private") => Field.Private,
            _ when Is(key, "id") => Field.Id,
            _ when Is(key, "type") => Field.Type,
            _ when Is(key, "retry") => Field.Retry,
            _ => Field.Other,
        };
    }

    /// <summary>
    /// Decodes a key or value to a string (when <paramref name="materialize"/>; otherwise only checks it).
    /// <c>false</c> when it holds an escaped NUL. <paramref name="isUtf8"/> says whether the decoded bytes are valid
    /// UTF-8 (checked only when asked; the string has U+FFFD where they are not, as the form reader's has).
    /// </summary>
    private static bool TryDecode(ReadOnlySpan<byte> raw, bool materialize, bool checkUtf8, out string? value, out bool isUtf8)
    {
        isUtf8 = true;
        if (raw.IsEmpty)
        {
            value = string.Empty;
            return true;
        }

        if (raw.IndexOfAny((byte)'%', (byte)'+') < 0)
        {
            isUtf8 = !checkUtf8 || Utf8.IsValid(raw);
            value = materialize ? Encoding.UTF8.GetString(raw) : null;
            return true;
        }

        byte[]? rented = null;
        var scratch = raw.Length <= StackDecodeLimit
            ? stackalloc byte[StackDecodeLimit]
            : (rented = ArrayPool<byte>.Shared.Rent(raw.Length));
        try
        {
            var length = Decode(raw, scratch);
            if (length < 0)
            {
                value = null;
                return false;
            }

            isUtf8 = !checkUtf8 || Utf8.IsValid(scratch[..length]);
            value = materialize ? Encoding.UTF8.GetString(scratch[..length]) : null;
            return true;
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>
    /// Decodes the escapes starting at <paramref name="read"/> (a <c>%</c>) that make one UTF-8 character.
    /// Returns 1 when written, 0 when they are not valid UTF-8 (<paramref name="read"/> is then past what was
    /// scanned, for the caller to copy as is), -1 for NUL.
    /// </summary>
    private static int DecodeEscapes(ReadOnlySpan<byte> source, ref int read, Span<byte> destination, ref int written)
    {
        var byte1 = Unescape(source, ref read);
        if (byte1 < 0)
        {
            return 0;
        }

        if (byte1 == 0)
        {
            return -1;
        }

        if (byte1 <= 0x7F)
        {
            destination[written++] = (byte)byte1;
            return 1;
        }

        int bits;
        int byteCount;
        int minimum;
        if ((byte1 & 0xE0) == 0xC0)
        {
            bits = byte1 & 0x1F;
            byteCount = 2;
            minimum = 0x80;
        }
        else if ((byte1 & 0xF0) == 0xE0)
        {
            bits = byte1 & 0x0F;
            byteCount = 3;
            minimum = 0x800;
        }
        else if ((byte1 & 0xF8) == 0xF0)
        {
            bits = byte1 & 0x07;
            byteCount = 4;
            minimum = 0x10000;
        }
        else
        {
            return 0;
        }

        Span<byte> bytes = stackalloc byte[4];
        bytes[0] = (byte)byte1;
        var remaining = byteCount - 1;
        while (remaining > 0)
        {
            if (read == source.Length)
            {
                return 0;
            }

            var next = read;
            var nextByte = Unescape(source, ref next);
            if (nextByte < 0 || (nextByte & 0xC0) != 0x80)
            {
                return 0;
            }

            bits = (bits << 6) | (nextByte & 0x3F);
            remaining--;

            // The same checks, at the same points, as UrlDecoder: UTF-16 surrogates and beyond U+10FFFF.
            if (remaining == 1 && bits >= 0x360 && bits <= 0x37F)
            {
                return 0;
            }

            if (remaining == 2 && bits >= 0x110)
            {
                return 0;
            }

            read = next;
            bytes[byteCount - remaining - 1] = (byte)nextByte;
        }

        if (bits < minimum)
        {
            // An overlong encoding.
            return 0;
        }

        bytes[..byteCount].CopyTo(destination[written..]);
        written += byteCount;
        return 1;
    }

    /// <summary>The byte a <c>%XX</c> at <paramref name="scan"/> stands for, or -1 (having moved past the <c>%</c>).</summary>
    private static int Unescape(ReadOnlySpan<byte> source, ref int scan)
    {
        if (source[scan++] != (byte)'%' || scan + 1 >= source.Length)
        {
            return -1;
        }

        var high = HexValue(source[scan]);
        var low = HexValue(source[scan + 1]);
        if (high < 0 || low < 0)
        {
            return -1;
        }

        scan += 2;
        return (high << 4) | low;
    }

    private static int HexValue(byte b) => b switch
    {
        >= (byte)'0' and <= (byte)'9' => b - '0',
        >= (byte)'A' and <= (byte)'F' => b - 'A' + 10,
        >= (byte)'a' and <= (byte)'f' => b - 'a' + 10,
        _ => -1,
    };
}
