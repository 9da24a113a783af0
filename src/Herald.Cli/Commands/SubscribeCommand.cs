using System.Buffers;
using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Herald.Client;

namespace Herald.Cli.Commands;

/// <summary><c>herald subscribe</c>: prints a hub's updates as they arrive, reconnecting without losing any.</summary>
internal static class SubscribeCommand
{
    public static Command Create()
    {
        var hub = HubOptions.CreateHub();
        var token = HubOptions.CreateToken("granting subscribe on the private updates to receive (optional)");
        var match = new Option<string[]>("--match")
        {
            Description = "Mercure 1.0: receive updates whose topic is exactly this one, or * for all (repeat for several).",
            HelpName = "topic",
        };
        var urlPattern = new Option<string[]>("--urlpattern")
        {
            Description = "Mercure 1.0: receive updates whose topic matches this URL pattern, e.g. https://example.com/books/:id (repeat for several).",
            HelpName = "pattern",
        };
        var topic = new Option<string[]>("--topic")
        {
            Description = "Mercure 0.x: a topic selector (a topic, a URI template such as https://example.com/books/{id}, or *), for hubs that speak 0.x.",
            HelpName = "selector",
        };
        var lastEventId = new Option<string>("--last-event-id")
        {
            Description = "Replay the updates after this id first ('earliest' for all the hub keeps).",
            HelpName = "id",
        };
        var json = new Option<bool>("--json")
        {
            Description = "Print one JSON object per update, {\"id\",\"type\",\"data\"}, instead of the data alone.",
        };

        var command = new Command("subscribe", "Print the updates of a Mercure hub as they arrive, until Ctrl+C or the hub ends the stream.")
        {
            hub, token, match, urlPattern, topic, lastEventId, json,
        };
        command.Validators.Add(result =>
        {
            // One of the three is required; System.CommandLine only knows "this one option is required".
            if (result.GetResult(match) is null && result.GetResult(urlPattern) is null && result.GetResult(topic) is null)
            {
                result.AddError("Option '--match', '--urlpattern' or (0.x) '--topic' is required");
            }
        });
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            if (!HubOptions.TryResolveHub(parseResult, hub, out var hubUrl, out var error))
            {
                return HubOptions.Fail(parseResult, "subscribe: " + error);
            }

            var matches = parseResult.GetValue(match) ?? [];
            var patterns = parseResult.GetValue(urlPattern) ?? [];
            var selectors = parseResult.GetValue(topic) ?? [];
            if (matches.Concat(patterns).Concat(selectors).Any(string.IsNullOrEmpty))
            {
                return HubOptions.Fail(parseResult, "subscribe: --match, --urlpattern and --topic need a non-empty value");
            }

            var jwt = HubOptions.ResolveToken(parseResult, token);
            if (jwt is not null && jwt.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
            {
                return HubOptions.Fail(parseResult, "subscribe: --token is not one JWT (it holds spaces or control characters)");
            }

            var requested = parseResult.GetValue(lastEventId);
            var options = new EventSourceClientOptions
            {
                Url = SubscribeUrl(hubUrl, matches, patterns, selectors),

                // In the Authorization header: Mercure 1.0 forbids tokens in URLs (they end up in logs).
                AccessToken = jwt,
                InitialLastEventId = requested,
            };
            var output = parseResult.InvocationConfiguration.Output;
            var errors = parseResult.InvocationConfiguration.Error;
            var asJson = parseResult.GetValue(json);

            await using var client = new EventSourceClient(options);
            client.Opened += (_, e) =>
            {
                // The hub says where it resumed; another position than the one asked for means updates were lost.
                if (!string.IsNullOrEmpty(e.LastEventId) && e.ResumedAfter is { } resumed
                    && !string.Equals(resumed, e.LastEventId, StringComparison.Ordinal)
                    && !string.Equals(e.LastEventId, "earliest", StringComparison.Ordinal))
                {
                    errors.WriteLine($"herald: the hub resumed after '{resumed}', not '{e.LastEventId}': updates in between may be lost");
                }
            };
            client.Error += (_, e) =>
            {
                if (e.WillRetry)
                {
                    errors.WriteLine(string.Create(
                        CultureInfo.InvariantCulture,
                        $"herald: connection lost ({e.Exception.Message}) — reconnecting in {e.RetryDelay.TotalSeconds:0.#} s"));
                }
            };

            try
            {
                await foreach (var message in client.ReadAllAsync(cancellationToken))
                {
                    await output.WriteLineAsync(asJson ? ToJson(message) : message.Data);
                    await output.FlushAsync(cancellationToken);
                }

                return 0;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return 0; // Ctrl+C: the user stopped it, nothing failed.
            }
            catch (EventSourceException e) when (e.StatusCode is { } status && (int)status != 200)
            {
                return HubOptions.Fail(parseResult, $"subscribe failed: {HubOptions.DescribeStatus((int)status, e.Reason)} — {Advice((int)status, e.BearerError)}");
            }
            catch (EventSourceException e)
            {
                return HubOptions.Fail(parseResult, $"subscribe failed: {hubUrl} answered '{e.ContentType}', not an event stream — check --hub");
            }
            catch (Exception e)
            {
                // The last resort: one line, never a stack trace.
                return HubOptions.Fail(parseResult, $"subscribe failed: {e.Message}");
            }
        });
        return command;
    }

    /// <summary>The hub URL with the matchers (1.0) and selectors (0.x), after any query it already has.</summary>
    internal static Uri SubscribeUrl(Uri hub, IEnumerable<string> matches, IEnumerable<string> patterns, IEnumerable<string> topics)
    {
        var url = new MercureSubscribeUrl(hub);
        foreach (var value in matches)
        {
            url.Match(value);
        }

        foreach (var value in patterns)
        {
            url.MatchUrlPattern(value);
        }

        foreach (var value in topics)
        {
            url.Topic(value);
        }

        return url.ToUri();
    }

    internal static string ToJson(SseMessage message)
    {
        var buffer = new ArrayBufferWriter<byte>(message.Data.Length + 64);
        // Relaxed escaping keeps accents and '<' readable in a terminal; the output is still valid JSON.
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartObject();
            writer.WriteString("id", message.LastEventId);
            writer.WriteString("type", message.EventType);
            writer.WriteString("data", message.Data);
            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static string Advice(int status, string? bearerError) => (status, bearerError) switch
    {
        (400, _) => "check --match, --urlpattern (URL pattern syntax, e.g. /books/:id), --topic and --last-event-id",
        (401, "invalid_token") => $"the hub refused the token (invalid_token): check --token (or {HubOptions.TokenVariable}): its signing key, iss, aud (the hub's resource identifier) and exp",
        (401, _) => $"check --token (or {HubOptions.TokenVariable}): the hub wants a valid token; make one with 'herald token'",
        (403, _) => "the token does not grant subscribe on these topics (insufficient_scope): its authorization_details (or 0.x mercure.subscribe) must cover them",
        (404 or 405, _) => "check --hub: it is the hub URL, usually ending in /.well-known/mercure",
        _ => "check the command's options against 'herald subscribe --help'",
    };
}
