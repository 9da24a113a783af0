namespace Herald.Topics;

/// <summary>
/// How many distinct matchers subscribers have filed under each bucket of an index (<see cref="TemplateIndex{TValue}"/>,
/// <see cref="UrlPatterns.UrlPatternIndex{TValue}"/>), capped hub-wide, so what one publish runs stays bounded whatever
/// the number of connections; and how many of each bucket's places each client brought, capped per client, so that no
/// one client can fill a bucket and refuse everyone else's new matchers there.
/// </summary>
/// <remarks>
/// A publish probes a bounded number of buckets per topic (at most one per anchor length, and the families that cannot be
/// probed by length, which count as one bucket each), so a cap per bucket bounds what it runs. Reserving happens in the
/// registry that shares compiled matchers, under its lock, when a subscription brings a matcher no one holds: two
/// subscribers racing for the last place cannot both get it, and the dispatcher's lock is never taken. A place is charged
/// to the client that brought it until the matcher leaves the index (its last holder leaves), whoever holds it meanwhile;
/// memory is one count per bucket and per (bucket, client) with places, removed at zero. Not thread-safe.
/// </remarks>
internal sealed class AnchorBudget(int limit, int sharedLimit, int perClient)
{
    private readonly Dictionary<string, int> _counts = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Bucket, MatcherClient Client), int> _perClient = [];

    /// <summary>
    /// How many times an anchor bucket's places a shared bucket has. A 64-character topic probes up to 64 anchor buckets
    /// of each index (one per literal-start or pathname-start length), so at the cap <c>L</c> a publish runs up to 64·L
    /// anchored matchers of each kind; each shared family is probed once per topic, so it adds its own places once. Three
    /// template families are shared (literal end, inner literal, always) and one URL pattern family (no fixed host): at
    /// 4·L each they add 12·L template runs and 4·L pattern runs, beside the templates with more than four expressions (L
    /// places, each run worth about ten anchored ones, so 10·L): the shared families together stay within a third of the
    /// anchored ones (22·L against 64·L), and the worst publish grows by about a tenth of what it was with L places each
    /// (MatcherCapBenchmarks, which fills these at their caps). Four times the places means four times the clients, at
    /// their share, to fill one.
    /// </summary>
    public const int SharedFactor = 4;

    /// <summary>At most <paramref name="limit"/> places per bucket, shared ones included; no share per client.</summary>
    public AnchorBudget(int limit)
        : this(limit, limit, int.MaxValue)
    {
    }

    /// <summary><see cref="SharedFactor"/> times <paramref name="limit"/>, at most <see cref="int.MaxValue"/>.</summary>
    public static int SharedLimitFor(int limit) => limit > int.MaxValue / SharedFactor ? int.MaxValue : limit * SharedFactor;

    /// <summary>Most distinct matchers one anchor bucket may hold.</summary>
    public int Limit { get; } = limit;

    /// <summary>Most distinct matchers one shared bucket (a family probed once per topic, not once per anchor) may hold.</summary>
    public int SharedLimit { get; } = sharedLimit;

    /// <summary>Most places one client may have brought to one bucket.</summary>
    public int PerClient { get; } = perClient;

    /// <summary>How many buckets hold at least one matcher.</summary>
    public int BucketCount => _counts.Count;

    /// <summary>How many (bucket, client) pairs hold at least one place: what the per-client accounting keeps.</summary>
    public int ClientCount => _perClient.Count;

    /// <summary>Whether <paramref name="client"/> may take a place in <paramref name="bucket"/> now.</summary>
    public bool CanReserve(string bucket, bool shared, MatcherClient client)
    {
        _counts.TryGetValue(bucket, out var count);
        _perClient.TryGetValue((bucket, client), out var own);
        return count < (shared ? SharedLimit : Limit) && own < PerClient;
    }

    /// <summary>Takes a place in <paramref name="bucket"/> for <paramref name="client"/>; false (nothing taken) when it is full or the client's share is.</summary>
    public bool TryReserve(string bucket, bool shared, MatcherClient client)
    {
        if (!CanReserve(bucket, shared, client))
        {
            return false;
        }

        _counts[bucket] = _counts.GetValueOrDefault(bucket) + 1;
        _perClient[(bucket, client)] = _perClient.GetValueOrDefault((bucket, client)) + 1;
        return true;
    }

    /// <summary>Gives back a place <see cref="TryReserve"/> took for <paramref name="client"/>.</summary>
    public void Release(string bucket, MatcherClient client)
    {
        Decrement(_counts, bucket);
        Decrement(_perClient, (bucket, client));
    }

    private static void Decrement<TKey>(Dictionary<TKey, int> counts, TKey key)
        where TKey : notnull
    {
        if (counts.TryGetValue(key, out var count))
        {
            if (count <= 1)
            {
                counts.Remove(key);
            }
            else
            {
                counts[key] = count - 1;
            }
        }
    }
}
