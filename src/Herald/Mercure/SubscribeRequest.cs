using System.Buffers;
using System.Text;
using System.Text.Unicode;
using Herald.Storage;
using Herald.Topics;
using Herald.Topics.UrlPatterns;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Net.Http.Headers;

namespace Herald.Mercure;

/// <summary>
/// What a subscribe request asks for: its topic selectors (Mercure 1.0 <c>match</c>, <c>match_exact</c>,
/// <c>match_urlpattern</c>; 0.x <c>topic</c>) and the last event id of its query or body (1.0 <c>last_event_id</c>,
/// 0.x <c>lastEventID</c>), every value checked. The <c>Last-Event-ID</c> header is not read here; it wins over both.
/// </summary>
/// <remarks>
/// <para>
/// Parsed from the raw query string (and a <c>QUERY</c> body) with the <c>application/x-www-form-urlencoded</c> parser
/// of the URL standard, as Mercure 1.0 ("Subscription") requires, not from <c>HttpRequest.Query</c>: ASP.NET Core's
/// decoding keeps an escape that is not valid UTF-8 (<c>%FF</c>) as the text <c>%FF</c>, which would turn a value the
/// spec calls invalid into a valid one. Kestrel and the direct path both hand over the query as sent (ASCII: Kestrel
/// refuses any other byte in a target, checked by the tests), so both read the same pairs here. A <c>topic</c> value is decoded as ASP.NET Core decodes it, so 0.x selectors mean what they meant.
/// </para>
/// <para>
/// The query and the body are one list of pairs ("the union"): every matcher of either counts, and a single-valued
/// parameter (<c>last_event_id</c>) takes its first value, the query being read first.
/// </para>
/// </remarks>
internal sealed class SubscribeRequest
{
    public const string Match = "match";
    public const string MatchExact = "match_exact";
    public const string MatchUrlPattern = "match_urlpattern";
    public const string Topic = "topic";

    /// <summary>The safe method that carries the parameters in a body (RFC 10008); EventSource only sends GET.</summary>
    public const string QueryMethod = "QUERY";

    /// <summary>Decoded values up to this many bytes are decoded on the stack; longer ones rent.</summary>
    private const int StackLimit = 512;

    private readonly HeraldOptions _options;
    private readonly string _hubUrl;
    private readonly List<Selector> _selectors = [];
    private int _patterns;
    private string? _lastEventId;
    private string? _legacyLastEventId;

    private SubscribeRequest(HeraldOptions options, string hubUrl)
    {
        _options = options;
        _hubUrl = hubUrl;
    }

    /// <summary>The selectors, in the order sent: the subscription is their union.</summary>
    public IReadOnlyList<Selector> Selectors => _selectors;

    /// <summary>The first <c>last_event_id</c> (query before body), else (0.x hubs) the first <c>lastEventID</c>.</summary>
    public string? RequestedLastEventId => _lastEventId ?? _legacyLastEventId;

    /// <summary>Whether the request speaks Mercure 1.0: it has a <c>match…</c> or <c>last_event_id</c> parameter.</summary>
    public bool IsV1 { get; private set; }

    private bool Compatible => _options.Protocol == MercureProtocol.Compatible;

    /// <summary>
    /// Reads the request's query and, for <c>QUERY</c>, its <c>application/x-www-form-urlencoded</c> body (Mercure 1.0,
    /// "Subscription"). On failure: the status (400; 413 for a body over <see cref="HeraldOptions.MaxSubscribeBodyBytes"/>;
    /// 415 for a body of another type) and a one-line reason.
    /// </summary>
    public static async ValueTask<(SubscribeRequest? Request, int Status, string? Error)> ReadAsync(HttpContext context, HeraldOptions options, string hubUrl)
    {
        var request = context.Request;
        ReadOnlyMemory<byte> body = default;
        if (request.Method == QueryMethod && context.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody != false)
        {
            if (!IsForm(request.ContentType))
            {
                return (null, StatusCodes.Status415UnsupportedMediaType, "a subscribe request body must be application/x-www-form-urlencoded (UTF-8)");
            }

            var limit = options.MaxSubscribeBodyBytes;
            var tooLarge = $"subscribe request body too large (MaxSubscribeBodyBytes: at most {limit} bytes)";
            if (request.ContentLength > limit)
            {
                return (null, StatusCodes.Status413PayloadTooLarge, tooLarge);
            }

            // The server stops reading past the limit too, so a refused body is not drained to the end.
            if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } bodySize)
            {
                bodySize.MaxRequestBodySize = limit;
            }

            var reader = request.BodyReader;
            try
            {
                while (true)
                {
                    var read = await reader.ReadAsync(context.RequestAborted).ConfigureAwait(false);
                    var buffer = read.Buffer;
                    if (buffer.Length > limit)
                    {
                        reader.AdvanceTo(buffer.Start, buffer.End);
                        return (null, StatusCodes.Status413PayloadTooLarge, tooLarge);
                    }

                    if (read.IsCompleted)
                    {
                        body = buffer.ToArray();
                        reader.AdvanceTo(buffer.End);
                        break;
                    }

                    reader.AdvanceTo(buffer.Start, buffer.End);
                }
            }
            catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
            {
                return (null, StatusCodes.Status413PayloadTooLarge, tooLarge);
            }
        }

        var parsed = Parse(request.QueryString.Value ?? string.Empty, body.Span, options, hubUrl, out var error);
        return parsed is null ? (null, StatusCodes.Status400BadRequest, error) : (parsed, StatusCodes.Status200OK, null);
    }

    /// <summary>
    /// Reads <paramref name="query"/> (with or without its leading <c>?</c>) and <paramref name="body"/> (a form body,
    /// or empty). On failure <paramref name="error"/> is a one-line reason for a 400 that names the parameter but never
    /// quotes what the client sent.
    /// </summary>
    public static SubscribeRequest? Parse(string query, ReadOnlySpan<byte> body, HeraldOptions options, string hubUrl, out string? error)
    {
        var request = new SubscribeRequest(options, hubUrl);
        var text = query.AsSpan();
        if (text.StartsWith('?'))
        {
            text = text[1..];
        }

        // The query string is ASCII on both paths (Kestrel refuses a target with any other byte, and the direct path hands
        // such a head to Kestrel). A context built some other way may hold more: a character reads as its UTF-8 bytes,
        // and a lone surrogate (bytes that were not UTF-8) fails the request.
        byte[]? rented = null;
        try
        {
            Span<byte> bytes = text.Length * 3 <= StackLimit ? stackalloc byte[StackLimit] : (rented = ArrayPool<byte>.Shared.Rent(text.Length * 3));
            if (Utf8.FromUtf16(text, bytes, out _, out var written, replaceInvalidSequences: false) != OperationStatus.Done)
            {
                error = "the query string is not valid UTF-8";
                return null;
            }

            error = request.ReadPairs(bytes[..written]) ?? request.ReadPairs(body) ?? request.Finish();
            return error is null ? request : null;
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    private string? ReadPairs(ReadOnlySpan<byte> form)
    {
        while (!form.IsEmpty)
        {
            var end = form.IndexOf((byte)'&');
            var pair = end < 0 ? form : form[..end];
            form = end < 0 ? [] : form[(end + 1)..];
            if (pair.IsEmpty)
            {
                continue;
            }

            var equals = pair.IndexOf((byte)'=');
            var rawName = equals < 0 ? pair : pair[..equals];
            var rawValue = equals < 0 ? [] : pair[(equals + 1)..];
            if (ReadPair(rawName, rawValue) is { } error)
            {
                return error;
            }
        }

        return null;
    }

    private string? ReadPair(ReadOnlySpan<byte> rawName, ReadOnlySpan<byte> rawValue)
    {
        // Names this hub reads hold no escapes when clients encode as URLSearchParams does; decode only names that do.
        var name = rawName.IndexOfAny((byte)'%', (byte)'+') < 0 && !rawName.ContainsAnyExceptInRange((byte)0x20, (byte)0x7E)
            ? null
            : DecodeLenient(rawName);
        ReadOnlySpan<byte> plain = name is null ? rawName : Encoding.UTF8.GetBytes(name);
        if (plain.SequenceEqual("match"u8) || plain.SequenceEqual("match_exact"u8))
        {
            return AddMatcher(MatcherType.Exact, plain.Length == Match.Length ? Match : MatchExact, rawValue);
        }

        if (plain.SequenceEqual("match_urlpattern"u8))
        {
            return AddMatcher(MatcherType.UrlPattern, MatchUrlPattern, rawValue);
        }

        if (plain.SequenceEqual("last_event_id"u8))
        {
            IsV1 = true;
            _lastEventId ??= DecodeLenient(rawValue);
            return null;
        }

        if (Compatible && plain.SequenceEqual("topic"u8))
        {
            return AddTopic(rawValue);
        }

        if (Compatible && plain.SequenceEqual("lastEventID"u8))
        {
            _legacyLastEventId ??= DecodeLenient(rawValue);
            return null;
        }

        // Mercure 1.0 reserves every name starting with "match" (ASCII, any case): a misspelt or unsupported matcher
        // type must fail loudly rather than subscribe to less than the client believes.
        if (plain.Length >= 5 && Ascii.EqualsIgnoreCase(plain[..5], "match"u8))
        {
            return $"unsupported matcher parameter {Describe(plain)}: use match, match_exact or match_urlpattern";
        }

        return null;
    }

    private string? AddMatcher(MatcherType type, string name, ReadOnlySpan<byte> rawValue)
    {
        IsV1 = true;
        if (CountOne(name) is { } tooMany)
        {
            return tooMany;
        }

        if (DecodeStrict(rawValue) is not { } value)
        {
            return $"{name} parameter is not valid UTF-8";
        }

        if (CheckValue(name, value) is { } invalid)
        {
            return invalid;
        }

        if (UpdateValidation.FindForbidden(value) is { } forbidden)
        {
            return $"{name} parameter {forbidden}";
        }

        if (type == MatcherType.UrlPattern && value != Selector.Wildcard)
        {
            // Each pattern costs a match per publish, as a URI template does: the same cap holds both.
            if (++_patterns > _options.MaxTemplateSelectorsPerSubscription)
            {
                return $"too many URL pattern and URI template parameters (MaxTemplateSelectorsPerSubscription: at most {_options.MaxTemplateSelectorsPerSubscription})";
            }

            if (!UrlPattern.TryParse(value, _hubUrl, out _, out var reason))
            {
                return $"invalid {name} parameter: {reason}";
            }
        }

        _selectors.Add(new Selector(type, value));
        return null;
    }

    private string? AddTopic(ReadOnlySpan<byte> rawValue)
    {
        if (CountOne(Topic) is { } tooMany)
        {
            return tooMany;
        }

        if (!FormDecoder.TryDecode(rawValue, materialize: true, out var decoded))
        {
            return "topic parameter must not contain NUL";
        }

        var value = decoded!;
        if (CheckValue(Topic, value) is { } invalid)
        {
            return invalid;
        }

        if (value.AsSpan().Count('{') > _options.MaxTemplateExpressions)
        {
            return $"topic parameter has too many template expressions (MaxTemplateExpressions: at most {_options.MaxTemplateExpressions})";
        }

        if (value != Selector.Wildcard && !TopicMatcher.IsExact(value) && ++_patterns > _options.MaxTemplateSelectorsPerSubscription)
        {
            return _selectors.Any(static s => s.Type == MatcherType.UrlPattern)
                ? $"too many URL pattern and URI template parameters (MaxTemplateSelectorsPerSubscription: at most {_options.MaxTemplateSelectorsPerSubscription})"
                : $"too many URI template topic parameters (MaxTemplateSelectorsPerSubscription: at most {_options.MaxTemplateSelectorsPerSubscription})";
        }

        _selectors.Add(Selector.Topic(value));
        return null;
    }

    /// <summary>Counts a selector against the cap before any work is spent on its value.</summary>
    private string? CountOne(string name)
        => _selectors.Count < _options.MaxTopicsPerSubscription
            ? null
            : $"too many {(IsV1 ? "match" : name)} parameters (at most {_options.MaxTopicsPerSubscription})";

    private string? CheckValue(string name, string value)
    {
        if (value.Length == 0)
        {
            return $"empty {name} parameter";
        }

        return value.Length > _options.MaxSelectorLength
            ? $"{name} parameter too long (MaxSelectorLength: at most {_options.MaxSelectorLength} characters)"
            : null;
    }

    private string? Finish()
    {
        if (_selectors.Count > 0)
        {
            return null;
        }

        return IsV1 || !Compatible ? "missing match parameter (match, match_exact or match_urlpattern)" : "missing topic parameter";
    }

    /// <summary>
    /// The URL standard's percent-decoding of a form value (<c>+</c> is a space, <c>%XX</c> a byte, a <c>%</c> that
    /// starts no escape stays), then UTF-8 without replacement: <c>null</c> when the bytes are not valid UTF-8.
    /// </summary>
    private static string? DecodeStrict(ReadOnlySpan<byte> raw)
    {
        if (raw.IndexOfAny((byte)'%', (byte)'+') < 0)
        {
            return Utf8.IsValid(raw) ? Encoding.UTF8.GetString(raw) : null;
        }

        byte[]? rented = null;
        var bytes = raw.Length <= StackLimit ? stackalloc byte[StackLimit] : (rented = ArrayPool<byte>.Shared.Rent(raw.Length));
        try
        {
            var length = 0;
            for (var i = 0; i < raw.Length; i++)
            {
                var b = raw[i];
                if (b == '+')
                {
                    b = (byte)' ';
                }
                else if (b == '%' && i + 2 < raw.Length && IsHex(raw[i + 1]) && IsHex(raw[i + 2]))
                {
                    b = (byte)((HexValue(raw[i + 1]) << 4) | HexValue(raw[i + 2]));
                    i += 2;
                }

                bytes[length++] = b;
            }

            var decoded = bytes[..length];
            return Utf8.IsValid(decoded) ? Encoding.UTF8.GetString(decoded) : null;
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>Decodes as ASP.NET Core's query and form readers do (an escape that is not UTF-8 stays as text).</summary>
    private static string DecodeLenient(ReadOnlySpan<byte> raw)
    {
        if (raw.IndexOf("%00"u8) >= 0)
        {
            // The one escape FormDecoder refuses; a NUL never names a parameter or an event this hub knows.
            return string.Empty;
        }

        FormDecoder.TryDecode(raw, materialize: true, out var value);
        return value!;
    }

    /// <summary>Form-urlencoded, in UTF-8 when a charset is named (the form parser reads nothing else).</summary>
    private static bool IsForm(string? contentType)
        => MediaTypeHeaderValue.TryParse(contentType, out var media)
            && media.MediaType.Equals("application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase)
            && (!media.Charset.HasValue || media.Charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase));

    private static bool IsHex(byte b) => char.IsAsciiHexDigit((char)b);

    private static int HexValue(byte b) => b <= '9' ? b - '0' : (b | 0x20) - 'a' + 10;

    /// <summary>A parameter name fit to quote in an answer: short printable ASCII, else only what it starts with.</summary>
    private static string Describe(ReadOnlySpan<byte> name)
        => name.Length <= 40 && !name.ContainsAnyExceptInRange((byte)0x21, (byte)0x7E)
            ? Encoding.ASCII.GetString(name)
            : "(a name starting with match)";
}
