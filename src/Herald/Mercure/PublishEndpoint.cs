using Herald.Security;
using Herald.Sse;
using Herald.Storage;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Primitives;

namespace Herald.Mercure;

/// <summary><c>POST /.well-known/mercure</c>: parse the form, authorize, validate, publish, answer the id.</summary>
internal sealed class PublishEndpoint(MercureHub hub, MercureTokenValidator tokens)
{
    public async Task HandleAsync(HttpContext context)
    {
        var options = hub.Options;
        var request = context.Request;
        CorsHeaders.Apply(context, options.CorsOrigins);

        if (request.ContentLength > options.MaxPublishBytes)
        {
            await HubResults.WriteError(context, StatusCodes.Status413PayloadTooLarge, $"publish body larger than {options.MaxPublishBytes} bytes").ConfigureAwait(false);
            return;
        }

        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } bodySize)
        {
            bodySize.MaxRequestBodySize = options.MaxPublishBytes;
        }

        var (token, locateError) = TokenLocator.Find(request, options.PublishOrigins);
        if (locateError is not null)
        {
            await HubResults.WriteError(context, StatusCodes.Status401Unauthorized, locateError).ConfigureAwait(false);
            return;
        }

        if (token is null)
        {
            await HubResults.WriteError(context, StatusCodes.Status401Unauthorized, "a publisher token is required (Authorization: Bearer …)").ConfigureAwait(false);
            return;
        }

        var validated = await tokens.ValidateAsync(token, TokenAudience.Publisher, context.RequestAborted).ConfigureAwait(false);
        if (!validated.IsValid)
        {
            await HubResults.WriteError(context, StatusCodes.Status401Unauthorized, "invalid publisher token: " + validated.Error).ConfigureAwait(false);
            return;
        }

        if (!request.HasFormContentType)
        {
            await HubResults.WriteError(context, StatusCodes.Status415UnsupportedMediaType, "publish with Content-Type: application/x-www-form-urlencoded").ConfigureAwait(false);
            return;
        }

        IFormCollection form;
        try
        {
            form = await request.ReadFormAsync(context.RequestAborted).ConfigureAwait(false);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            await HubResults.WriteError(context, StatusCodes.Status413PayloadTooLarge, $"publish body larger than {options.MaxPublishBytes} bytes").ConfigureAwait(false);
            return;
        }
        catch (InvalidDataException e)
        {
            // The form reader refuses over-long values and control characters such as NUL.
            var tooLarge = e.Message.Contains("limit", StringComparison.OrdinalIgnoreCase);
            await HubResults.WriteError(
                context,
                tooLarge ? StatusCodes.Status413PayloadTooLarge : StatusCodes.Status400BadRequest,
                (tooLarge ? "publish form too large: " : "malformed publish form: ") + e.Message.TrimEnd('.')).ConfigureAwait(false);
            return;
        }

        if (ParseUpdate(form) is not { } parsed)
        {
            await HubResults.WriteError(context, StatusCodes.Status400BadRequest, ParseError(form) ?? "invalid update").ConfigureAwait(false);
            return;
        }

        var allowed = validated.Claims!.Publish ?? [];
        foreach (var topic in parsed.Topics)
        {
            if (!hub.Matcher.MatchesAny(allowed, topic))
            {
                await HubResults.WriteError(context, StatusCodes.Status403Forbidden, $"the token's mercure.publish claim does not allow topic {topic}").ConfigureAwait(false);
                return;
            }
        }

        string id;
        try
        {
            id = await hub.PublishAsync(parsed, context.RequestAborted).ConfigureAwait(false);
        }
        catch (ArgumentException e)
        {
            await HubResults.WriteError(context, StatusCodes.Status400BadRequest, e.Message).ConfigureAwait(false);
            return;
        }
        catch (DuplicateUpdateIdException)
        {
            await HubResults.WriteError(context, StatusCodes.Status409Conflict, $"an update with id {parsed.Id} was already published").ConfigureAwait(false);
            return;
        }
        catch (StoreUnavailableException e)
        {
            context.Response.Headers.RetryAfter = "1";
            await HubResults.WriteError(context, StatusCodes.Status503ServiceUnavailable, "history store unavailable, update not stored: " + e.Message).ConfigureAwait(false);
            return;
        }

        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "text/plain; charset=utf-8";
        await context.Response.WriteAsync(id, context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>The update a form describes, or <c>null</c> when the form is invalid (see <see cref="ParseError"/>).</summary>
    internal static Update? ParseUpdate(IFormCollection form) => ParseError(form) is null ? new Update
    {
        Topics = form["topic"].ToArray()!,
        Data = form.TryGetValue("data", out var data) ? data.ToString() : null,
        Private = form.ContainsKey("private"),
        Id = Single(form, "id"),
        Type = Single(form, "type"),
        Retry = Single(form, "retry") is { } retry ? TimeSpan.FromMilliseconds(long.Parse(retry, System.Globalization.CultureInfo.InvariantCulture)) : null,
    } : null;

    /// <summary>The one-line reason a publish form is refused, or <c>null</c> when it is valid.</summary>
    internal static string? ParseError(IFormCollection form)
    {
        var topics = form["topic"];
        if (topics.Count == 0 || AnyEmpty(topics))
        {
            return "missing topic parameter";
        }

        var id = Single(form, "id");
        if (id is not null && (id.Length == 0 || id.StartsWith('#')))
        {
            return "id must not be empty or start with #";
        }

        if (SseFrame.Check(id, Single(form, "type")) is { } framing)
        {
            return framing;
        }

        if (Single(form, "retry") is { } retry
            && (retry.Length == 0 || !retry.All(char.IsAsciiDigit)
                || !long.TryParse(retry, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var ms) || ms > int.MaxValue))
        {
            return "retry must be a number of milliseconds (digits only)";
        }

        return null;
    }

    private static bool AnyEmpty(StringValues values)
    {
        foreach (var value in values)
        {
            if (string.IsNullOrEmpty(value))
            {
                return true;
            }
        }

        return false;
    }

    private static string? Single(IFormCollection form, string key)
        => form.TryGetValue(key, out var value) && value.Count > 0 ? value[^1] : null;
}
