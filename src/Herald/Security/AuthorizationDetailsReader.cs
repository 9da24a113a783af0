using System.Text.Json;
using Herald.Storage;
using Herald.Topics;
using Herald.Topics.UrlPatterns;

namespace Herald.Security;

/// <summary>
/// Reads a Mercure 1.0 token's rights from its RFC 9396 <c>authorization_details</c> (Mercure 1.0, "Authorization
/// Details", "Topic Matcher List", "Payloads") into <see cref="MercureClaims"/>. All or nothing: one Mercure entry that
/// does not parse, or limits exceeded, make the whole token invalid, since acting on the other entries would silently
/// change what the token grants. Entries of other types belong to other APIs and are skipped.
/// </summary>
internal static class AuthorizationDetailsReader
{
    /// <summary>The authorization detail type this protocol defines, compared byte for byte.</summary>
    public const string MercureType = "https://mercure.rocks/authorization-detail";

    public const string PublishAction = "publish";
    public const string SubscribeAction = "subscribe";

    /// <summary>
    /// Most Mercure entries one token may carry. An issuer needs one or two (a publish grant, a subscribe grant), a few
    /// more for per-topic payloads; the rest is a token built to make every request costly.
    /// </summary>
    internal const int MaxDetails = 100;

    /// <summary>
    /// Most topic matchers summed over a token's Mercure entries: what a subscription may name (the default of
    /// <see cref="HeraldOptions.MaxTopicsPerSubscription"/>), since a token's subscribe matchers are checked against
    /// every private update the subscriber is offered.
    /// </summary>
    internal const int MaxTopics = 1000;

    /// <summary>
    /// Most <c>urlpattern</c> matchers summed over a token's Mercure entries: each one runs against the topics of every
    /// private update offered to the subscriber, so, as for URI templates in a subscription
    /// (<see cref="HeraldOptions.MaxTemplateSelectorsPerSubscription"/>), a hundred bound what one token adds to a publish.
    /// </summary>
    internal const int MaxUrlPatterns = 100;

    /// <param name="root">The token's payload, holding <c>authorization_details</c>.</param>
    /// <param name="expires">The token's <c>exp</c>.</param>
    /// <param name="hubUrl">The hub URL relative URL patterns resolve against.</param>
    /// <param name="maxMatchLength">Longest <c>match</c> value (<see cref="HeraldOptions.MaxSelectorLength"/>).</param>
    public static TokenResult Read(JsonElement root, DateTimeOffset? expires, string hubUrl, int maxMatchLength)
    {
        if (!root.TryGetProperty("authorization_details", out var details) || details.ValueKind == JsonValueKind.Null)
        {
            // No Mercure entry: a valid token that grants nothing.
            return TokenResult.Valid(V1Claims([], [], [], expires));
        }

        if (details.ValueKind != JsonValueKind.Array)
        {
            return TokenResult.Invalid("authorization_details must be an array");
        }

        var publish = new List<Selector>();
        var subscribe = new List<Selector>();
        var subscribeDetails = new List<SubscribeDetail>();
        var budget = new Budget();
        foreach (var detail in details.EnumerateArray())
        {
            // RFC 9396 §2: every entry is an object with a string type; anything else is not a detail of any API.
            if (detail.ValueKind != JsonValueKind.Object
                || !detail.TryGetProperty("type", out var type)
                || type.ValueKind != JsonValueKind.String)
            {
                return TokenResult.Invalid("authorization_details entries must be objects with a type");
            }

            if (!type.ValueEquals(MercureType))
            {
                continue;
            }

            if (++budget.Details > MaxDetails)
            {
                return TokenResult.Invalid($"more than {MaxDetails} Mercure authorization details");
            }

            Selector[]? topics = null;
            JsonElement? payload = null;
            var error = ReadActions(detail, out var grantsPublish, out var grantsSubscribe)
                ?? ReadTopics(detail, hubUrl, maxMatchLength, ref budget, out topics)
                ?? ReadPayload(detail, out payload);
            if (error is not null)
            {
                return TokenResult.Invalid("Mercure authorization detail: " + error);
            }

            if (grantsPublish)
            {
                publish.AddRange(topics!);
            }

            if (grantsSubscribe)
            {
                subscribe.AddRange(topics!);
                subscribeDetails.Add(new SubscribeDetail(topics!, payload));
            }
        }

        return TokenResult.Valid(V1Claims([.. publish], [.. subscribe], [.. subscribeDetails], expires));
    }

    private static MercureClaims V1Claims(Selector[] publish, Selector[] subscribe, SubscribeDetail[] details, DateTimeOffset? expires)
        => new(publish, subscribe, Payload: null, expires) { Generation = TokenGeneration.V1, SubscribeDetails = details };

    /// <summary>
    /// <c>actions</c>: a non-empty array of strings. Actions the hub does not know grant nothing and are not an error
    /// (the spec lets issuers name actions of future specifications); a non-string is.
    /// </summary>
    private static string? ReadActions(JsonElement detail, out bool publish, out bool subscribe)
    {
        publish = subscribe = false;
        if (!detail.TryGetProperty("actions", out var actions) || actions.ValueKind != JsonValueKind.Array || actions.GetArrayLength() == 0)
        {
            return "actions must be a non-empty array";
        }

        foreach (var action in actions.EnumerateArray())
        {
            if (action.ValueKind != JsonValueKind.String)
            {
                return "actions must be strings";
            }

            publish |= action.ValueEquals(PublishAction);
            subscribe |= action.ValueEquals(SubscribeAction);
        }

        return null;
    }

    /// <summary><c>topics</c>: a non-empty array of <c>{match, match_type?}</c> objects; bare strings (the 0.x shape) are refused.</summary>
    private static string? ReadTopics(JsonElement detail, string hubUrl, int maxMatchLength, ref Budget budget, out Selector[]? topics)
    {
        topics = null;
        if (!detail.TryGetProperty("topics", out var array) || array.ValueKind != JsonValueKind.Array || array.GetArrayLength() == 0)
        {
            return "topics must be a non-empty array";
        }

        budget.Topics += array.GetArrayLength();
        if (budget.Topics > MaxTopics)
        {
            return $"more than {MaxTopics} topic matchers";
        }

        var selectors = new Selector[array.GetArrayLength()];
        var i = 0;
        foreach (var entry in array.EnumerateArray())
        {
            var error = ReadMatcher(entry, maxMatchLength, out var selector);
            if (error is not null)
            {
                return error;
            }

            // The wildcard matches every topic whatever the type, so it is never parsed as a pattern. Counted before
            // parsing: past the cap, a token gets no more patterns compiled.
            if (selector.Type == MatcherType.UrlPattern && !selector.IsWildcard)
            {
                if (++budget.UrlPatterns > MaxUrlPatterns)
                {
                    return $"more than {MaxUrlPatterns} urlpattern matchers";
                }

                if (!UrlPattern.TryParse(selector.Value, hubUrl, out _, out var patternError))
                {
                    return "invalid urlpattern: " + patternError;
                }
            }

            selectors[i++] = selector;
        }

        topics = selectors;
        return null;
    }

    private static string? ReadMatcher(JsonElement entry, int maxMatchLength, out Selector selector)
    {
        selector = default;
        if (entry.ValueKind != JsonValueKind.Object
            || !entry.TryGetProperty("match", out var matchElement)
            || matchElement.ValueKind != JsonValueKind.String)
        {
            return "each topic must be an object with a string match";
        }

        var match = matchElement.GetString()!;
        if (match.Length == 0 || match.Length > maxMatchLength)
        {
            return $"match must hold 1 to {maxMatchLength} characters";
        }

        if (UpdateValidation.FindForbidden(match) is { } forbidden)
        {
            return "match " + forbidden;
        }

        var type = MatcherType.Exact;
        if (entry.TryGetProperty("match_type", out var typeElement))
        {
            // Case-sensitive, and a type the hub does not support refuses the token: the grant could not be evaluated.
            if (typeElement.ValueKind == JsonValueKind.String && typeElement.ValueEquals("urlpattern"))
            {
                type = MatcherType.UrlPattern;
            }
            else if (typeElement.ValueKind != JsonValueKind.String || !typeElement.ValueEquals("exact"))
            {
                return "match_type must be exact or urlpattern";
            }
        }

        selector = new Selector(type, match);
        return null;
    }

    /// <summary><c>payload</c>: a JSON object when present, kept as sent for presence (Mercure 1.0, "Payloads").</summary>
    private static string? ReadPayload(JsonElement detail, out JsonElement? payload)
    {
        payload = null;
        if (!detail.TryGetProperty("payload", out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Object)
        {
            return "payload must be a JSON object";
        }

        payload = value.Clone();
        return null;
    }

    /// <summary>What the token's Mercure entries have used of the limits so far.</summary>
    private struct Budget
    {
        public int Details;
        public int Topics;
        public int UrlPatterns;
    }
}
