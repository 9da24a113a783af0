using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;

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

            var claims = MercureJwt.Claims(publishSelectors, subscribeSelectors, payloadJson, DateTimeOffset.UtcNow, lifetime);
            parseResult.InvocationConfiguration.Output.WriteLine(MercureJwt.Sign(claims, Encoding.UTF8.GetBytes(secret)));
            return 0;
        });
        return command;
    }

    /// <summary>Parses 30s / 15m / 1h / 7d (or a TimeSpan such as 01:30:00); 'never' is no expiry.</summary>
    internal static bool TryParseLifetime(string text, out TimeSpan? lifetime)
    {
        lifetime = null;
        text = text.Trim();
        if (text.Equals("never", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        if (text.Length >= 2 && long.TryParse(text.AsSpan(0, text.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var amount))
        {
            TimeSpan? parsed = char.ToLowerInvariant(text[^1]) switch
            {
                's' => TimeSpan.FromSeconds(amount),
                'm' => TimeSpan.FromMinutes(amount),
                'h' => TimeSpan.FromHours(amount),
                'd' => TimeSpan.FromDays(amount),
                _ => null,
            };
            if (parsed is { } value && value > TimeSpan.Zero)
            {
                lifetime = value;
                return true;
            }

            return false;
        }

        if (TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out var span) && span > TimeSpan.Zero)
        {
            lifetime = span;
            return true;
        }

        return false;
    }
}
