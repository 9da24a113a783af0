using System.CommandLine;
using Herald.Client;

namespace Herald.Cli.Commands;

/// <summary><c>herald publish</c>: posts one update to a hub and prints the id it got.</summary>
internal static class PublishCommand
{
    public static Command Create()
    {
        var hub = HubOptions.CreateHub();
        var token = HubOptions.CreateToken("allowed to publish to every topic");
        var topic = new Option<string[]>("--topic")
        {
            Description = "A topic of the update (repeat for alternates; the first is the canonical one).",
            HelpName = "iri",
            Required = true,
        };
        var data = new Option<string>("--data")
        {
            Description = "The update's payload.",
            HelpName = "text",
            Required = true,
        };
        var isPrivate = new Option<bool>("--private")
        {
            Description = "Deliver only to subscribers whose token allows one of the topics.",
        };
        var id = new Option<string>("--id")
        {
            Description = "The update id (default: the hub generates a urn:uuid).",
            HelpName = "id",
        };
        var type = new Option<string>("--type")
        {
            Description = "The SSE event type subscribers see (default: message).",
            HelpName = "type",
        };
        var retry = new Option<int?>("--retry")
        {
            Description = "The reconnection time, in milliseconds, to send subscribers.",
            HelpName = "ms",

            // The default parser's error names the CLR type ("System.Nullable`1[System.Int32]").
            CustomParser = static result =>
            {
                var text = result.Tokens.Count > 0 ? result.Tokens[^1].Value : string.Empty;
                if (int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var ms))
                {
                    return ms;
                }

                result.AddError($"--retry '{text}' is not a number of milliseconds (digits only, e.g. 5000)");
                return null;
            },
        };

        var command = new Command("publish", "Publish an update to a Mercure hub and print its id.")
        {
            hub, token, topic, data, isPrivate, id, type, retry,
        };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            if (!HubOptions.TryResolveHub(parseResult, hub, out var hubUrl, out var error))
            {
                return HubOptions.Fail(parseResult, "publish: " + error);
            }

            var jwt = HubOptions.ResolveToken(parseResult, token);
            if (jwt is null)
            {
                return HubOptions.Fail(parseResult, $"publish needs a token — pass --token JWT or set {HubOptions.TokenVariable} (make one with 'herald token')");
            }

            var request = new PublishRequest
            {
                Topics = parseResult.GetRequiredValue(topic),
                Data = parseResult.GetValue(data),
                Private = parseResult.GetValue(isPrivate),
                EventId = parseResult.GetValue(id),
                EventType = parseResult.GetValue(type),
                ReconnectionInterval = parseResult.GetValue(retry) is { } ms ? TimeSpan.FromMilliseconds(ms) : null,
            };

            try
            {
                using var publisher = new MercurePublisher(hubUrl, jwt);
                var updateId = await publisher.PublishAsync(request, cancellationToken);
                await parseResult.InvocationConfiguration.Output.WriteLineAsync(updateId);
                return 0;
            }
            catch (MercurePublishException e)
            {
                return HubOptions.Fail(parseResult, $"publish failed: {HubOptions.DescribeStatus((int)e.StatusCode, e.Reason)} — {Advice((int)e.StatusCode)}");
            }
            catch (HttpRequestException e)
            {
                return HubOptions.Fail(parseResult, $"publish failed: cannot reach {hubUrl}: {e.Message} — check --hub and that the hub is running");
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return HubOptions.Fail(parseResult, "publish cancelled; the update may or may not have been stored");
            }
            catch (TaskCanceledException)
            {
                return HubOptions.Fail(parseResult, $"publish failed: {hubUrl} did not answer in time — check --hub and that the hub is running");
            }
            catch (Exception e)
            {
                // The last resort: one line, never a stack trace.
                return HubOptions.Fail(parseResult, $"publish failed: {e.Message}");
            }
        });
        return command;
    }

    private static string Advice(int status) => status switch
    {
        400 => "check --topic, --id (must not start with '#'), --type and --retry",
        401 => $"check --token (or {HubOptions.TokenVariable}): it must be signed with the hub's publisher key and not expired",
        403 => "the token's mercure.publish claim must match every --topic",
        404 or 405 => "check --hub: it is the hub URL, usually ending in /.well-known/mercure",
        413 => "the update is too large for the hub — send less --data",
        >= 500 => "the hub is failing or unavailable; try again later",
        _ => "check the command's options against 'herald publish --help'",
    };
}
