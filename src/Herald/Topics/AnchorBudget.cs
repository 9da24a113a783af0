namespace Herald.Topics;

/// <summary>
/// How many distinct matchers subscribers have filed under each bucket of an index (<see cref="TemplateIndex{TValue}"/>,
/// <see cref="UrlPatterns.UrlPatternIndex{TValue}"/>), capped hub-wide, so what one publish runs stays bounded whatever
/// the number of connections.
/// </summary>
/// <remarks>
/// A publish probes a bounded number of buckets per topic (at most one per anchor length, and the families that cannot be
/// probed by length, which count as one bucket each), so a cap per bucket bounds what it runs. Reserving happens in the
/// registry that shares compiled matchers, under its lock, when a subscription brings a matcher no one holds: two
/// subscribers racing for the last place cannot both get it, and the dispatcher's lock is never taken. Not thread-safe.
/// </remarks>
internal sealed class AnchorBudget(int limit)
{
    private readonly Dictionary<string, int> _counts = new(StringComparer.Ordinal);

    /// <summary>Most distinct matchers one bucket may hold.</summary>
    public int Limit { get; } = limit;

    /// <summary>How many buckets hold at least one matcher.</summary>
    public int BucketCount => _counts.Count;

    /// <summary>Takes a place in <paramref name="bucket"/>; false (nothing taken) when it is full.</summary>
    public bool TryReserve(string bucket)
    {
        _counts.TryGetValue(bucket, out var count);
        if (count >= Limit)
        {
            return false;
        }

        _counts[bucket] = count + 1;
        return true;
    }

    /// <summary>Gives back a place <see cref="TryReserve"/> took.</summary>
    public void Release(string bucket)
    {
        if (_counts.TryGetValue(bucket, out var count))
        {
            if (count <= 1)
            {
                _counts.Remove(bucket);
            }
            else
            {
                _counts[bucket] = count - 1;
            }
        }
    }
}
