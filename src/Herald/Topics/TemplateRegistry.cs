namespace Herald.Topics;

/// <summary>
/// The compiled URI templates in use, shared by <see cref="UriTemplate.Key"/>: subscribers naming the same template hold one automaton,
/// and it is dropped when the last of them leaves.
/// </summary>
/// <remarks>
/// Compiling happens outside this registry's lock (it is linear in the template's length, but a subscription's
/// hundred templates should not queue other subscribers behind it), and publishing never takes this lock.
/// Templates a subscription brings to the dispatcher's index are counted per index bucket (<see cref="TemplateIndex{TValue}.BucketOf"/>)
/// against <see cref="HeraldOptions.MaxMatchersPerAnchor"/> (shared buckets: <see cref="AnchorBudget.SharedFactor"/> times
/// it), here under this lock: a template no subscriber holds yet is refused when its bucket is full, or when the client
/// bringing it already brought <see cref="HeraldOptions.MaxMatchersPerAnchorPerClient"/> of the bucket's places; one
/// already held is shared and never refused, and costs no share.
/// </remarks>
internal sealed class TemplateRegistry(int maxPerBucket = HeraldOptions.DefaultMaxMatchersPerAnchor, int maxPerClient = int.MaxValue)
{
    private readonly object _gate = new();
    private readonly Dictionary<string, Entry> _live = new(StringComparer.Ordinal);
    private readonly AnchorBudget _budget = new(maxPerBucket, AnchorBudget.SharedLimitFor(maxPerBucket), maxPerClient);

    /// <summary>How many distinct templates subscribers hold now.</summary>
    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _live.Count;
            }
        }
    }

    /// <summary>How many (bucket, client) pairs hold places now: what the per-client accounting keeps.</summary>
    public int ClientPlaces
    {
        get
        {
            lock (_gate)
            {
                return _budget.ClientCount;
            }
        }
    }

    /// <summary>
    /// The compiled template for <paramref name="text"/>, shared with every template of the same
    /// <see cref="UriTemplate.Key"/>; <c>null</c> when it does not parse. Pair with <see cref="Release(UriTemplate)"/>.
    /// </summary>
    public UriTemplate? Acquire(string text) => Acquire(text, counted: false, out _);

    /// <summary>
    /// As <see cref="Acquire(string)"/>; when <paramref name="counted"/> (the template goes into the dispatcher's index),
    /// <paramref name="refused"/> tells that its bucket is full and nothing was acquired. Pair with
    /// <see cref="Release(UriTemplate, bool)"/> with the same <paramref name="counted"/>.
    /// </summary>
    public UriTemplate? Acquire(string text, bool counted, out bool refused) => Acquire(text, counted, MatcherClient.Unknown, out refused);

    /// <summary>As <see cref="Acquire(string, bool, out bool)"/>, a new place charged to <paramref name="client"/>.</summary>
    public UriTemplate? Acquire(string text, bool counted, MatcherClient client, out bool refused)
    {
        refused = false;

        // Parsing and compiling are linear in the text, and happen outside the lock.
        if (!UriTemplate.TryParse(text, out var compiled))
        {
            return null;
        }

        lock (_gate)
        {
            if (!_live.TryGetValue(compiled!.Key, out var entry))
            {
                entry = new Entry(compiled);
            }

            if (counted && entry.Counted == 0)
            {
                var bucket = TemplateIndex<object>.BucketOf(entry.Template);
                if (!_budget.TryReserve(bucket, TemplateIndex<object>.IsShared(bucket), client))
                {
                    refused = true;
                    return null;
                }

                entry.Owner = client;
            }

            _live[compiled.Key] = entry;
            entry.Users++;
            entry.Counted += counted ? 1 : 0;
            return entry.Template;
        }
    }

    public void Release(UriTemplate template) => Release(template, counted: false);

    public void Release(UriTemplate template, bool counted)
    {
        lock (_gate)
        {
            if (!_live.TryGetValue(template.Key, out var entry) || !ReferenceEquals(entry.Template, template))
            {
                return;
            }

            if (counted && entry.Counted > 0 && --entry.Counted == 0)
            {
                _budget.Release(TemplateIndex<object>.BucketOf(template), entry.Owner);
            }

            if (--entry.Users == 0)
            {
                _live.Remove(template.Key);
            }
        }
    }

    private sealed class Entry(UriTemplate template)
    {
        public UriTemplate Template { get; } = template;

        public int Users { get; set; }

        /// <summary>How many of <see cref="Users"/> file it in the dispatcher's index (token claims do not).</summary>
        public int Counted { get; set; }

        /// <summary>The client its place is charged to, while <see cref="Counted"/>: the one that brought it to the index.</summary>
        public MatcherClient Owner { get; set; }
    }
}
