using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using Herald.Security;
using Herald.Storage;
using Herald.Topics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.Extensions.Options;

namespace Herald.Mercure;

/// <summary><c>POST /.well-known/mercure</c>: parse the form, authorize, validate, publish, answer the id.</summary>
internal sealed class PublishEndpoint(MercureHub hub, MercureTokenValidator tokens, StoreOutageLog outages, IOptions<FormOptions>? formOptions = null)
{
    private const string FormContentType = "application/x-www-form-urlencoded";

    /// <summary>The whole answer to a publish the store cannot take now; the detail is logged (<see cref="StoreOutageLog"/>).</summary>
    internal const string StoreUnavailableReason = "history store unavailable, update not stored: retry later";

    /// <summary>The limits ASP.NET Core's form reader applies: the app's <see cref="FormOptions"/>.</summary>
    private readonly FormOptions _formLimits = formOptions?.Value ?? new FormOptions();

    /// <summary>The endpoint last checked for form options of its own, and whether it has any.</summary>
    private Tuple<Endpoint?, bool>? _endpointFormOptions;

    /// <summary>The path base, hub path and namespace of the last publish under a path base (<see cref="ReservedFor"/>).</summary>
    private Tuple<string, string, ReservedTopics>? _pathBaseReserved;

    /// <summary>Answers a publish; counted (<c>herald.updates.published</c>) and spanned only when anybody listens.</summary>
    public Task HandleAsync(HttpContext context)
        => hub.Telemetry.PublishObserved || hub.Tracing.Enabled ? HandleObservedAsync(context) : PublishAsync(context);

    /// <summary>
    /// The publish inside its span, counted by the status it was answered with: one place for every answer, refusals
    /// included, and nothing in the way of a publish nobody observes.
    /// </summary>
    private async Task HandleObservedAsync(HttpContext context)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        using var activity = hub.Tracing.StartPublish(context.Request, topic: null);
        await PublishAsync(context).ConfigureAwait(false);
        var status = context.Response.StatusCode;
        hub.Telemetry.PublishAnswered(status, started);
        Diagnostics.HeraldTracing.Answered(activity, status);
    }

    private async Task PublishAsync(HttpContext context)
    {
        var options = hub.Options;
        var request = context.Request;
        CorsHeaders.Apply(context, options.CorsOrigins);

        if (request.ContentLength > options.MaxPublishBytes)
        {
            await ErrorResponse.WriteAsync(context, StatusCodes.Status413PayloadTooLarge, TooLarge(options)).ConfigureAwait(false);
            return;
        }

        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } bodySize)
        {
            bodySize.MaxRequestBodySize = options.MaxPublishBytes;
        }

        var hubUrl = hub.UrlFor(request);
        var validated = await tokens.AuthenticateAsync(request, TokenAudience.Publisher, hubUrl, context.RequestAborted).ConfigureAwait(false);
        if (validated.Status != TokenStatus.Valid)
        {
            await validated.RefuseAsync(context, hubUrl, TokenAudience.Publisher).ConfigureAwait(false);
            return;
        }

        if (!TryReadReceivedForm(context, out var form, out var status, out var formError))
        {
            (form, status, formError) = await ReadFormAsync(context).ConfigureAwait(false);
        }

        if (form is null)
        {
            await ErrorResponse.WriteAsync(context, status, formError!).ConfigureAwait(false);
            return;
        }

        // Checked before the token's grants: a topic in the hub's namespace, or *, is a 400 whatever the token grants.
        if (ParseUpdate(form, ReservedFor(request), out var invalid) is not { } parsed)
        {
            await ErrorResponse.WriteAsync(context, StatusCodes.Status400BadRequest, invalid!).ConfigureAwait(false);
            return;
        }

        var claims = validated.Claims!;
        var allowed = claims.Publish ?? [];
        foreach (var topic in parsed.Topics)
        {
            if (!hub.Matcher.MatchesAny(allowed, topic, hubUrl))
            {
                await ErrorResponse.ForbiddenAsync(context, hubUrl, NotGranted(claims, topic)).ConfigureAwait(false);
                return;
            }
        }

        string id;
        try
        {
            using var append = hub.TimeAppend();
            id = (await hub.AppendAsync(parsed, context.RequestAborted).ConfigureAwait(false)).Id;
        }
        catch (ArgumentException e)
        {
            // The update passed the hub's rules; this is a store refusing what it cannot keep.
            await ErrorResponse.WriteAsync(context, StatusCodes.Status400BadRequest, e.Message).ConfigureAwait(false);
            return;
        }
        catch (DuplicateUpdateIdException)
        {
            await ErrorResponse.WriteAsync(context, StatusCodes.Status409Conflict, $"an update with id {parsed.EventId} was already published").ConfigureAwait(false);
            return;
        }
        catch (StoreUnavailableException e)
        {
            // The store's message names its file or its Redis host and quotes the driver: the log gets it, not the client.
            outages.Refused("publishing", e);
            context.Response.Headers.RetryAfter = "1";
            await ErrorResponse.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, StoreUnavailableReason).ConfigureAwait(false);
            return;
        }

        outages.Answered();
        WriteId(context.Response, id);
    }

    /// <summary>
    /// The update a form describes, ready for the store (checked, with an id), or <c>null</c> with the one-line reason
    /// to refuse it. This is the one check of an HTTP publish (<see cref="Update.Check"/>, the rules
    /// <see cref="MercureHub.Prepare(Update)"/> applies to the other ways in), made before the token's topics are
    /// checked so that a refusal never quotes a topic with control characters.
    /// </summary>
    internal static Update? ParseUpdate(PublishForm form, ReservedTopics reserved, out string? error)
    {
        var topics = form.Topics;
        if (topics.Count == 0 || topics.Any(string.IsNullOrEmpty))
        {
            error = "missing topic parameter";
            return null;
        }

        if (form.NotUtf8 is { } field)
        {
            error = field + " must be valid UTF-8";
            return null;
        }

        long? retryMs = null;
        if (form.Retry is { } retry)
        {
            if (retry.Length == 0 || !retry.All(char.IsAsciiDigit)
                || !long.TryParse(retry, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var ms) || ms > int.MaxValue)
            {
                error = "retry must be a number of milliseconds (digits only)";
                return null;
            }

            retryMs = ms;
        }

        var update = new Update
        {
            Topics = topics,
            Data = form.Data,
            Private = form.Private,
            EventId = form.Id,
            EventType = form.Type,
            ReconnectionInterval = retryMs is { } delay ? TimeSpan.FromMilliseconds(delay) : null,
        };
        error = UpdateValidation.Check(update, reserved);
        return error is null ? MercureHub.WithId(update) : null;
    }

    /// <summary>
    /// The 403's reason, in the words of the token's generation. The topic passed <see cref="UpdateValidation"/> (no
    /// control characters) but may be long: a reason stays one short line.
    /// </summary>
    internal static string NotGranted(MercureClaims claims, string topic)
    {
        const int Shown = 200;
        if (topic.Length > Shown)
        {
            // Never half a surrogate pair.
            topic = string.Concat(topic.AsSpan(0, char.IsHighSurrogate(topic[Shown - 1]) ? Shown - 1 : Shown), "…");
        }

        return claims.Generation == TokenGeneration.V1
            ? $"the token's authorization_details do not grant publish on topic {topic}"
            : $"the token's mercure.publish claim does not allow topic {topic}";
    }

    /// <summary>
    /// The hub's namespace as <paramref name="request"/> reaches it: under a path base, its URL (and so its namespace)
    /// has that prefix. The last path base seen is kept: an app has one.
    /// </summary>
    private ReservedTopics ReservedFor(HttpRequest request)
    {
        var pathBase = request.PathBase.ToUriComponent();
        if (pathBase.Length == 0)
        {
            return hub.Reserved;
        }

        var cached = Volatile.Read(ref _pathBaseReserved);
        if (cached is null || cached.Item1 != pathBase || !ReferenceEquals(cached.Item2, hub.Path))
        {
            cached = Tuple.Create(pathBase, hub.Path, ReservedTopics.For(hub.Options, hub.Path, pathBase));
            Volatile.Write(ref _pathBaseReserved, cached);
        }

        return cached.Item3;
    }

    private static string TooLarge(HeraldOptions options) => $"publish body larger than {options.MaxPublishBytes} bytes";

    /// <summary>
    /// The form of a plain urlencoded body (see <see cref="IsPlainUrlEncoded"/>) that has arrived whole, as a small
    /// publish's has by the time its headers are parsed; <c>false</c> when the body must be awaited (or read by
    /// ASP.NET Core's form reader): then <see cref="ReadFormAsync"/> reads it.
    /// </summary>
    private bool TryReadReceivedForm(HttpContext context, out PublishForm? form, out int status, out string? error)
    {
        (form, status, error) = (null, 0, null);
        if (!IsPlainUrlEncoded(context))
        {
            return false;
        }

        var reader = context.Request.BodyReader;
        ReadResult result;
        try
        {
            if (!reader.TryRead(out result))
            {
                return false;
            }
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            (status, error) = (StatusCodes.Status413PayloadTooLarge, TooLarge(hub.Options));
            return true;
        }

        if (!result.IsCompleted)
        {
            // Not all there yet: leave it unexamined, for the next read to return at once.
            reader.AdvanceTo(result.Buffer.Start);
            return false;
        }

        (form, status, error) = ParseBody(reader, result.Buffer, _formLimits);
        return true;
    }

    /// <summary>
    /// The publish form, or the status and one-line reason to refuse it with. A plain UTF-8 urlencoded body of known
    /// length, the form every publisher sends, is parsed here from the request's bytes (see <see cref="PublishForm"/>);
    /// anything else (multipart, another charset, a chunked body) goes through ASP.NET Core's form reader.
    /// </summary>
    private async ValueTask<(PublishForm? Form, int Status, string? Error)> ReadFormAsync(HttpContext context)
    {
        var request = context.Request;
        string? error;
        if (IsPlainUrlEncoded(context))
        {
            var reader = request.BodyReader;
            ReadResult result;
            try
            {
                while (true)
                {
                    result = await reader.ReadAsync(context.RequestAborted).ConfigureAwait(false);
                    if (result.IsCompleted)
                    {
                        break;
                    }

                    reader.AdvanceTo(result.Buffer.Start, result.Buffer.End);
                }
            }
            catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
            {
                return (null, StatusCodes.Status413PayloadTooLarge, TooLarge(hub.Options));
            }

            return ParseBody(reader, result.Buffer, _formLimits);
        }
        else
        {
            if (!request.HasFormContentType)
            {
                return (null, StatusCodes.Status415UnsupportedMediaType, "publish with Content-Type: application/x-www-form-urlencoded");
            }

            try
            {
                return (PublishForm.From(await request.ReadFormAsync(context.RequestAborted).ConfigureAwait(false)), 0, null);
            }
            catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
            {
                return (null, StatusCodes.Status413PayloadTooLarge, TooLarge(hub.Options));
            }
            catch (InvalidDataException e)
            {
                error = e.Message;
            }
            catch (IOException) when (!context.RequestAborted.IsCancellationRequested)
            {
                // The multipart reader's word for a body that ends before its closing boundary (it was a 500).
                // Kestrel's own refusals (BadHttpRequestException) also land here and are as malformed.
                error = "multipart body ends before its closing boundary";
            }
        }

        return Refusal(error);
    }

    /// <summary>The form in a whole body, which is consumed.</summary>
    private static (PublishForm? Form, int Status, string? Error) ParseBody(PipeReader reader, ReadOnlySequence<byte> body, FormOptions limits)
    {
        string? error;
        PublishForm parsed;
        try
        {
            error = Parse(body, limits, out parsed);
        }
        finally
        {
            reader.AdvanceTo(body.End);
        }

        return error is null ? (parsed, 0, null) : Refusal(error);
    }

    /// <summary>The answer to a form the form reader refuses: over-long keys and values, too many of them, escaped NULs.</summary>
    private static (PublishForm? Form, int Status, string? Error) Refusal(string error)
        => error.Contains("limit", StringComparison.OrdinalIgnoreCase)
            ? (null, StatusCodes.Status413PayloadTooLarge, "publish form too large: " + error.TrimEnd('.'))
            : (null, StatusCodes.Status400BadRequest, "malformed publish form: " + error.TrimEnd('.'));

    private static string? Parse(ReadOnlySequence<byte> body, FormOptions limits, out PublishForm form)
    {
        if (body.IsSingleSegment)
        {
            return PublishForm.TryParse(body.FirstSpan, limits, out form);
        }

        var length = checked((int)body.Length);
        var copy = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            body.CopyTo(copy);
            return PublishForm.TryParse(copy.AsSpan(0, length), limits, out form);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(copy);
        }
    }

    /// <summary>
    /// Whether the body is one this endpoint parses itself with the result ASP.NET Core's form reader would give:
    /// <c>application/x-www-form-urlencoded</c> in UTF-8 (no charset or <c>charset=utf-8</c>), a Content-Length
    /// within what the form reader reads in one piece, and no form options set on the endpoint.
    /// </summary>
    private bool IsPlainUrlEncoded(HttpContext context)
    {
        var request = context.Request;
        if (request.ContentLength is not { } length || length > (long)_formLimits.KeyLengthLimit + _formLimits.ValueLengthLimit)
        {
            return false;
        }

        var contentType = request.Headers.ContentType;
        if (contentType.Count != 1 || contentType[0] is not { } value || !value.StartsWith(FormContentType, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        var parameters = value.AsSpan(FormContentType.Length);
        if (!parameters.IsEmpty
            && !(parameters[0] == ';' && parameters[1..].TrimStart(' ').Equals("charset=utf-8", StringComparison.OrdinalIgnoreCase)))
        {
            return false;
        }

        var endpoint = context.GetEndpoint();
        var checkedEndpoint = Volatile.Read(ref _endpointFormOptions);
        if (checkedEndpoint is null || !ReferenceEquals(checkedEndpoint.Item1, endpoint))
        {
            checkedEndpoint = Tuple.Create(endpoint, endpoint?.Metadata.GetMetadata<IFormOptionsMetadata>() is not null);
            Volatile.Write(ref _endpointFormOptions, checkedEndpoint);
        }

        return !checkedEndpoint.Item2;
    }

    /// <summary>
    /// Answers the id with its length known up front and leaves the bytes for Kestrel to send as the request ends:
    /// headers and body then leave in one write, without chunked framing, whose closing chunk would cost a second
    /// write (and a second wake-up of the publisher) for every publish.
    /// </summary>
    private static void WriteId(HttpResponse response, string id)
    {
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "text/plain; charset=utf-8";
        var length = Encoding.UTF8.GetByteCount(id);
        response.ContentLength = length;
        var writer = response.BodyWriter;
        writer.Advance(Encoding.UTF8.GetBytes(id, writer.GetSpan(length)));
    }
}
