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
        var token = HubOptions.CreateToken("whose mercure.subscribe claim allows private updates (optional)");
        var topic = new Option<string[]>("--topic")
        {
            Description = "A topic selector: a topic, a URI template, or * (repeat for several).",
            HelpName = "selector",
            Required = true,
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
            hub, token, topic, lastEventId, json,
        };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            if (!HubOptions.TryResolveHub(parseResult, hub, out var hubUrl, out var error))
            {
                return HubOptions.Fail(parseResult, "subscribe: " + error);
            }

            var jwt = HubOptions.ResolveToken(parseResult, token);
            var headers = new Dictionary<string, string>();
            if (jwt is not null)
            {
                headers["Authorization"] = "Bearer " + jwt;
            }

            var options = new EventSourceClientOptions
            {
                Url = WithTopics(hubUrl, parseResult.GetRequiredValue(topic)),
                Headers = headers,
                InitialLastEventId = parseResult.GetValue(lastEventId),
            };
            var output = parseResult.InvocationConfiguration.Output;
            var errors = parseResult.InvocationConfiguration.Error;
            var asJson = parseResult.GetValue(json);

            await using var client = new EventSourceClient(options);
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
                return HubOptions.Fail(parseResult, $"subscribe failed: {HubOptions.DescribeStatus((int)status, e.Reason)} — {Advice((int)status)}");
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

    /// <summary>The hub URL with one <c>topic</c> query parameter per selector, after any query it already has.</summary>
    internal static Uri WithTopics(Uri hub, IEnumerable<string> topics)
    {
        var query = new StringBuilder(hub.Query.TrimStart('?'));
        foreach (var topic in topics)
        {
            query.Append(query.Length == 0 ? "" : "&").Append("topic=").Append(Uri.EscapeDataString(topic));
        }

        return new UriBuilder(hub) { Query = query.ToString() }.Uri;
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

    private static string Advice(int status) => status switch
    {
        400 => "check --topic and --last-event-id",
        401 => $"check --token (or {HubOptions.TokenVariable}): it must be signed with the hub's subscriber key and not expired",
        403 => "the token's mercure.subscribe claim does not allow these topics",
        404 or 405 => "check --hub: it is the hub URL, usually ending in /.well-known/mercure",
        _ => "check the command's options against 'herald subscribe --help'",
    };
}
