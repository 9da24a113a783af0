using System.CommandLine;
using System.Text.Json;
using Herald.Security;
using Herald.Topics;

namespace Herald.Cli.Commands;

/// <summary>
/// <c>herald token</c>: prints an HS256 token for publishers and subscribers of a Mercure hub: a Mercure 1.0 access token
/// (RFC 9068 with <c>authorization_details</c>) by default, a 0.x token with the <c>mercure</c> claim with <c>--legacy</c>.
/// </summary>
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
        var issuer = new Option<string>("--issuer", "--iss")
        {
            Description = "The token's iss: the issuer the hub trusts with this key (herald serve --issuer). Required unless --legacy.",
            HelpName = "id",
        };
        var audience = new Option<string[]>("--audience", "--aud")
        {
            Description = "The token's aud: the hub's resource identifier, e.g. https://example.com/.well-known/mercure (repeat for several). Required unless --legacy.",
            HelpName = "url",
        };
        var publish = new Option<string[]>("--publish")
        {
            Description = "An exact topic the token may publish to (repeat for several; * for all). With --legacy, a 0.x selector.",
            HelpName = "topic",
        };
        var publishPattern = new Option<string[]>("--publish-urlpattern")
        {
            Description = "A URL pattern of topics the token may publish to, e.g. https://example.com/books/:id (repeat for several).",
            HelpName = "pattern",
        };
        var subscribe = new Option<string[]>("--subscribe")
        {
            Description = "An exact topic whose private updates the token may receive (repeat for several; * for all). With --legacy, a 0.x selector.",
            HelpName = "topic",
        };
        var subscribePattern = new Option<string[]>("--subscribe-urlpattern")
        {
            Description = "A URL pattern of topics whose private updates the token may receive (repeat for several).",
            HelpName = "pattern",
        };
        var ttl = new Option<string>("--ttl")
        {
            Description = "How long the token is valid: 30s, 15m, 1h, 7d ('never' for no expiry, --legacy only).",
            HelpName = "duration",
            DefaultValueFactory = _ => "1h",
        };
        var payload = new Option<string>("--payload")
        {
            Description = "A JSON object for the subscribe grant's payload (the hub shows it in subscription events).",
            HelpName = "json",
        };
        var subject = new Option<string>("--subject", "--sub") { Description = "The token's sub (default: a new urn:uuid).", HelpName = "id" };
        var clientId = new Option<string>("--client-id") { Description = "The token's client_id (default: the issuer).", HelpName = "id" };
        var legacy = new Option<bool>("--legacy") { Description = "Mint a Mercure 0.x token (the mercure claim, no iss/aud) for hubs and clients that predate 1.0." };

        var command = new Command("token", "Print a token for a Mercure hub, signed with HS256: a Mercure 1.0 access token, or a 0.x one with --legacy.")
        {
            key, issuer, audience, publish, publishPattern, subscribe, subscribePattern, ttl, payload, subject, clientId, legacy,
        };
        command.SetAction(parseResult =>
        {
            var secret = parseResult.GetRequiredValue(key);
            if (secret.Length == 0)
            {
                return HubOptions.Fail(parseResult, "token: --key must not be empty — pass the hub's JWT key");
            }

            var publishTopics = parseResult.GetValue(publish) ?? [];
            var subscribeTopics = parseResult.GetValue(subscribe) ?? [];
            var publishPatterns = parseResult.GetValue(publishPattern) ?? [];
            var subscribePatterns = parseResult.GetValue(subscribePattern) ?? [];
            if (publishTopics.Length + subscribeTopics.Length + publishPatterns.Length + subscribePatterns.Length == 0)
            {
                return HubOptions.Fail(parseResult, "token: the token would allow nothing — pass --publish and/or --subscribe topics (* for all)");
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

            var output = parseResult.InvocationConfiguration.Output;
            if (parseResult.GetValue(legacy))
            {
                if (publishPatterns.Length + subscribePatterns.Length > 0)
                {
                    return HubOptions.Fail(parseResult, "token: --legacy tokens have no URL patterns — use URI templates in --publish/--subscribe, e.g. https://example.com/books/{id}");
                }

                output.WriteLine(TokenIssuer.Create(secret, publishTopics, subscribeTopics, lifetime, payloadJson));
                return 0;
            }

            var iss = parseResult.GetValue(issuer);
            var aud = parseResult.GetValue(audience) ?? [];
            if (string.IsNullOrWhiteSpace(iss) || aud.Length == 0 || aud.Any(string.IsNullOrWhiteSpace))
            {
                return HubOptions.Fail(parseResult, "token: a Mercure 1.0 token names its issuer and hub — pass --issuer ID (as herald serve --issuer) and --audience https://…/.well-known/mercure, or --legacy for a 0.x token");
            }

            if (lifetime is not { } validFor)
            {
                return HubOptions.Fail(parseResult, "token: a Mercure 1.0 token must expire — pass --ttl like 15m or 1h (or --legacy for a token that never expires)");
            }

            if (payloadJson is { ValueKind: not JsonValueKind.Object })
            {
                return HubOptions.Fail(parseResult, "token: --payload must be a JSON object in a Mercure 1.0 token — pass e.g. '{\"user\":\"alice\"}'");
            }

            var request = new AccessTokenRequest(
                iss.Trim(),
                [.. aud.Select(static a => a.Trim())],
                validFor,
                [.. publishTopics.Select(Selector.Exact), .. publishPatterns.Select(Selector.UrlPattern)],
                [.. subscribeTopics.Select(Selector.Exact), .. subscribePatterns.Select(Selector.UrlPattern)])
            {
                Payload = payloadJson,
                Subject = parseResult.GetValue(subject),
                ClientId = parseResult.GetValue(clientId),
            };
            output.WriteLine(TokenIssuer.CreateAccessToken(secret, request));
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
