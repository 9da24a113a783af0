using System.Text.Json;
using Herald.Security;
using Herald.Topics;

namespace Herald.Mercure;

/// <summary>The <c>payload</c> a subscription's documents echo, taken from the subscriber's token (Mercure 1.0, "Payloads").</summary>
internal static class SubscriptionPayload
{
    /// <summary>
    /// A 1.0 token: the payload of the first <c>subscribe</c> authorization detail whose topics match the subscription's
    /// own matcher string, read as if it were a topic (so the <c>urlpattern</c> grant <c>https://example.com/bar/:id</c>
    /// matches the subscription <c>match_urlpattern=https://example.com/bar/:id</c>, an <c>exact</c> grant a byte-equal
    /// matcher, <c>*</c> every one); <c>null</c> when that detail has none, or none matches. A 0.x token: its
    /// <c>mercure.payload</c>, for every subscription, as before. Without a token: none.
    /// </summary>
    /// <remarks>
    /// Done once per subscription at join, outside any lock publishing takes. The cost is the token's grants times the
    /// request's matchers: both are capped (the token reader's caps, <see cref="HeraldOptions.MaxTopicsPerSubscription"/>),
    /// and URL patterns come compiled from the matcher's cache.
    /// </remarks>
    public static JsonElement? For(MercureClaims? claims, Selector subscription, TopicMatcher matcher, string hubUrl)
    {
        if (claims is null)
        {
            return null;
        }

        if (claims.Generation != TokenGeneration.V1)
        {
            return claims.Payload;
        }

        foreach (var detail in claims.SubscribeDetails)
        {
            if (matcher.MatchesAny(detail.Topics, subscription.Value, hubUrl))
            {
                return detail.Payload;
            }
        }

        return null;
    }
}
