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
/// tests compare the two): keys matched case-insensitively after decoding, keys and values decoded as the form
/// reader decodes them (<see cref="FormDecoder"/>), a pair without <c>=</c> as a key with an empty value, and the
/// same limits with the same messages. It exists because the form
/// collection costs a dictionary, a string per key and a <c>StringValues</c> per field for every publish, where
/// this keeps only the strings an update needs.
/// </remarks>
internal sealed class PublishForm
{
    /// <summary>The reason FormPipeReader gives for an escaped NUL.</summary>
    public const string InvalidCharacters = "The form value contains invalid characters.";

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

            if (!TryIdentify(key, out var field) || !FormDecoder.TryDecode(value, materialize: field != Field.Other, out var decoded))
            {
                return InvalidCharacters;
            }

            // The raw bytes are valid UTF-8 exactly when the decoded ones are: an escape decodes to whole characters.
            if (form.NotUtf8 is null && field is (Field.Topic or Field.Id or Field.Type) && !Utf8.IsValid(value))
            {
                form.NotUtf8 = field switch { Field.Topic => "topic", Field.Id => "id", _ => "type" };
            }

            if (++count > limits.ValueCountLimit)
            {
                return $"Form value count limit {limits.ValueCountLimit} exceeded.";
            }

            form.Add(field, decoded!);
        }

        return null;
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

        if (!FormDecoder.TryDecode(key, materialize: true, out var decoded))
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
}
