using System.CommandLine;
using Herald.Client;

namespace Herald.Cli.Commands;

/// <summary><c>herald publish</c>: posts one update to a hub and prints the id it got.</summary>
internal static class PublishCommand
{
    public static Command Create()
    {
        var hub = HubOptions.CreateHub();
        var token = HubOptions.CreateToken("granting publish on every topic (a Mercure 1.0 access token, or a 0.x token)");
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
                return HubOptions.Fail(parseResult, $"publish failed: {HubOptions.DescribeStatus((int)e.StatusCode, Reason(e))} — {Advice((int)e.StatusCode, e.BearerError)}");
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

    /// <summary>The hub's reason, led by its RFC 6750 code when it sent one ("insufficient_scope: …").</summary>
    private static string? Reason(MercurePublishException e) => e.BearerError is null ? e.Reason : e.Reason is null ? e.BearerError : $"{e.BearerError}: {e.Reason}";

    private static string Advice(int status, string? bearerError) => (status, bearerError) switch
    {
        (400, "invalid_request") => $"the hub could not read the token's presentation: pass one JWT with --token (or {HubOptions.TokenVariable})",
        (400, _) => "check --topic (not *, not under the hub's /.well-known/mercure), --id (not 'earliest', must not start with '#'), --type (not 'mercure') and --retry",
        (401, "invalid_token") => $"the hub refused the token (invalid_token): check --token (or {HubOptions.TokenVariable}): its signing key, iss (a trusted issuer), aud (the hub's resource identifier) and exp",
        (401, _) => $"check --token (or {HubOptions.TokenVariable}): it must be signed with the hub's publisher key and not expired",
        (403, _) => "the token does not grant publish on every --topic (insufficient_scope): its authorization_details with actions [\"publish\"] (or 0.x mercure.publish) must match each one, alternates included",
        (404 or 405, _) => "check --hub: it is the hub URL, usually ending in /.well-known/mercure",
        (413, _) => "the update is too large for the hub — send less --data",
        ( >= 500, _) => "the hub is failing or unavailable; try again later",
        _ => "check the command's options against 'herald publish --help'",
    };
}
