using System.CommandLine;
using System.Text.Json;
using Herald.Security;

namespace Herald.Cli.Commands;

/// <summary><c>herald token</c>: prints an HS256 JWT for publishers and subscribers of a Mercure hub.</summary>
internal static class TokenCommand
{
    public static Command Create()
    {
        var key = new Option<string>("--key")
        {
            Description = "The HMAC secret the hub verifies tokens with (its publisher or subscriber JWT key).",
            HelpName = "secret",
            Required = true,
        };
        var publish = new Option<string[]>("--publish")
        {
            Description = "A topic selector the token may publish to (repeat for several; * for all).",
            HelpName = "selector",
        };
        var subscribe = new Option<string[]>("--subscribe")
        {
            Description = "A topic selector whose private updates the token may receive (repeat for several; * for all).",
            HelpName = "selector",
        };
        var ttl = new Option<string>("--ttl")
        {
            Description = "How long the token is valid: 30s, 15m, 1h, 7d, or 'never' for no expiry.",
            HelpName = "duration",
            DefaultValueFactory = _ => "1h",
        };
        var payload = new Option<string>("--payload")
        {
            Description = "JSON to put in the mercure.payload claim (the hub shows it in subscription events).",
            HelpName = "json",
        };

        var command = new Command("token", "Print a JWT for a Mercure hub, signed with HS256, with the mercure claim.")
        {
            key, publish, subscribe, ttl, payload,
        };
        command.SetAction(parseResult =>
        {
            var secret = parseResult.GetRequiredValue(key);
            if (secret.Length == 0)
            {
                return HubOptions.Fail(parseResult, "token: --key must not be empty — pass the hub's JWT key");
            }

            var publishSelectors = parseResult.GetValue(publish) ?? [];
            var subscribeSelectors = parseResult.GetValue(subscribe) ?? [];
            if (publishSelectors.Length == 0 && subscribeSelectors.Length == 0)
            {
                return HubOptions.Fail(parseResult, "token: the token would allow nothing — pass --publish and/or --subscribe selectors (* for all)");
            }

            var ttlText = parseResult.GetValue(ttl) ?? "1h";
            if (!TryParseLifetime(ttlText, out var lifetime))
            {
                return HubOptions.Fail(parseResult, $"token: '{ttlText}' is not a duration — pass --ttl like 30s, 15m, 1h, 7d or never");
            }

            JsonElement? payloadJson = null;
            if (parseResult.GetValue(payload) is { } payloadText)
            {
                try
                {
                    using var document = JsonDocument.Parse(payloadText);
                    payloadJson = document.RootElement.Clone();
                }
                catch (JsonException e)
                {
                    return HubOptions.Fail(parseResult, $"token: --payload is not JSON ({e.Message}) — pass e.g. '{{\"user\":\"alice\"}}'");
                }
            }

            parseResult.InvocationConfiguration.Output.WriteLine(TokenIssuer.Create(secret, publishSelectors, subscribeSelectors, lifetime, payloadJson));
            return 0;
        });
        return command;
    }

    /// <summary>A duration as <see cref="Durations"/> reads it (30s, 15m, 1h, 7d, 01:30:00), or 'never' for no expiry.</summary>
    internal static bool TryParseLifetime(string text, out TimeSpan? lifetime)
    {
        lifetime = null;
        if (text.Trim().Equals("never", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        if (Durations.TryParse(text, out var value) && value > TimeSpan.Zero)
        {
            lifetime = value;
            return true;
        }

        return false;
    }
}
