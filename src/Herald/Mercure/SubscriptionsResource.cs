using Herald.Topics;

namespace Herald.Mercure;

/// <summary>
/// Which subscription API resource a request names, from the raw path after <c>{hub path}/subscriptions</c> (raw:
/// its segments are percent-encoded matchers and ids, and routing would decode all but <c>%2F</c>).
/// </summary>
/// <remarks>
/// One URL space serves both generations. Mercure 1.0 paths start with a matcher type segment: <c>exact</c> or
/// <c>urlpattern</c>, exactly so (URL paths are case-sensitive). So <c>/{match_type}/{match}</c> and
/// <c>/{match_type}/{match}/{subscriber}</c> are 1.0, and every other path is a 0.x one, <c>/{topic}</c> or
/// <c>/{topic}/{subscriber}</c> (the 0.x API has no three-segment path and 1.0 none of one segment). The one path
/// both could mean, a 0.x topic spelled exactly <c>exact</c> or <c>urlpattern</c> with a subscriber, is read as 1.0.
/// The bare collection is either; the endpoint decides which by what the caller speaks.
/// </remarks>
internal readonly record struct SubscriptionsResource(SubscriptionsResource.Kinds Kind, MatcherType? Type, string? Match, string? Subscriber)
{
    internal enum Kinds
    {
        /// <summary><c>/subscriptions</c>: every subscription.</summary>
        All,

        /// <summary>0.x <c>/subscriptions/{topic}</c>.</summary>
        LegacyTopic,

        /// <summary>0.x <c>/subscriptions/{topic}/{subscriber}</c>.</summary>
        LegacySubscription,

        /// <summary>1.0 <c>/subscriptions/{match_type}/{match}</c>.</summary>
        Matcher,

        /// <summary>1.0 <c>/subscriptions/{match_type}/{match}/{subscriber}</c>.</summary>
        Subscription,
    }

    /// <summary>Whether the resource is one of the 0.x API.</summary>
    public bool IsLegacy => Kind is Kinds.LegacyTopic or Kinds.LegacySubscription;

    /// <summary>The resource <paramref name="rest"/> names (empty, or <c>/</c> then segments); <c>false</c> for no resource.</summary>
    public static bool TryParse(string rest, out SubscriptionsResource resource)
    {
        resource = default;
        var trimmed = rest.Trim('/');
        if (trimmed.Length == 0)
        {
            resource = new(Kinds.All, null, null, null);
            return true;
        }

        var segments = trimmed.Split('/');
        if (segments.Length > 3 || segments.Any(s => s.Length == 0))
        {
            return false;
        }

        if (segments.Length > 1 && SubscriptionDocument.ParseTypeName(segments[0]) is { } type)
        {
            resource = new(
                segments.Length == 2 ? Kinds.Matcher : Kinds.Subscription,
                type,
                Uri.UnescapeDataString(segments[1]),
                segments.Length == 3 ? Uri.UnescapeDataString(segments[2]) : null);
            return true;
        }

        if (segments.Length == 3)
        {
            return false;
        }

        resource = new(
            segments.Length == 1 ? Kinds.LegacyTopic : Kinds.LegacySubscription,
            MatcherType.Topic,
            Uri.UnescapeDataString(segments[0]),
            segments.Length == 2 ? Uri.UnescapeDataString(segments[1]) : null);
        return true;
    }
}
