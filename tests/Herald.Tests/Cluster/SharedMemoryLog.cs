using Herald.Storage;

namespace Herald.Tests.Cluster;

/// <summary>
/// One ordered log that several hub nodes in one process share: the in-memory stand-in for Redis in the cluster
/// specification, as SignalR tests its scale-out against an in-memory backplane before a real one. An update is
/// durable once it is in this list; its position among the updates is its sequence on every node. Each node reads
/// the log back on a reader of its own (<see cref="SharedMemoryStore"/>), so no node hears an update on the
/// appender's thread and the ordering races are the ones a real shared log has.
/// </summary>
internal sealed class SharedMemoryLog
{
    private readonly Lock _gate = new();

    // Updates and announcements in the one order every node reads them (the journal is never trimmed: a reader
    // behind retention still hears each entry once).
    private readonly List<Entry> _journal = [];

    // The updates history still keeps: _kept[i] has sequence FirstKept + i, since sequences are contiguous.
    private readonly List<StoredUpdate> _kept = [];
    private readonly Dictionary<string, long> _ids = new(StringComparer.Ordinal);
    private long _lastSequence;
    private TaskCompletionSource _grown = NewSignal();

    /// <summary>The sequence of the newest update ever appended; numbering never goes back, even when retention emptied the log.</summary>
    public long LastSequence
    {
        get
        {
            lock (_gate)
            {
                return _lastSequence;
            }
        }
    }

    /// <summary>Where a node that starts now begins to read, and the last sequence it then covers.</summary>
    public (int Position, long LastSequence) Tail()
    {
        lock (_gate)
        {
            return (_journal.Count, _lastSequence);
        }
    }

    /// <summary>Appends <paramref name="update"/> (its id set) with the next sequence; <c>null</c> when its id is taken, on any node.</summary>
    public StoredUpdate? Append(Update update, DateTimeOffset storedAt)
    {
        TaskCompletionSource grown;
        StoredUpdate stored;
        lock (_gate)
        {
            if (_ids.ContainsKey(update.EventId!))
            {
                return null;
            }

            stored = new StoredUpdate(_lastSequence + 1, update, storedAt);
            _lastSequence = stored.Sequence;
            _kept.Add(stored);
            _ids.Add(stored.Id, stored.Sequence);
            grown = Grow(new Entry(stored, null));
        }

        grown.SetResult();
        return stored;
    }

    /// <summary>Appends an announcement: read by every node in the one order, never numbered, never kept as history.</summary>
    public void Announce(string announcement)
    {
        TaskCompletionSource grown;
        lock (_gate)
        {
            grown = Grow(new Entry(null, announcement));
        }

        grown.SetResult();
    }

    /// <summary>
    /// Copies at most <paramref name="max"/> entries from <paramref name="position"/> on into <paramref name="into"/>.
    /// Returns a task that completes when the log grows past what was copied: taken under the same lock, so a reader
    /// that found nothing cannot miss the append that follows.
    /// </summary>
    public Task ReadFrom(int position, int max, List<Entry> into)
    {
        lock (_gate)
        {
            var count = Math.Min(max, _journal.Count - position);
            for (var i = 0; i < count; i++)
            {
                into.Add(_journal[position + i]);
            }

            return _grown.Task;
        }
    }

    public long? Find(string id)
    {
        lock (_gate)
        {
            return _ids.TryGetValue(id, out var sequence) ? sequence : null;
        }
    }

    /// <summary>Copies the kept updates above <paramref name="after"/> and not above <paramref name="upTo"/> into <paramref name="page"/>, in order; returns how many.</summary>
    public int CopyKept(long after, long upTo, StoredUpdate[] page)
    {
        lock (_gate)
        {
            var firstKept = FirstKept;
            var first = Math.Max(after + 1, firstKept);
            var last = Math.Min(upTo, _lastSequence);
            var count = first > last ? 0 : (int)Math.Min(page.Length, last - first + 1);
            _kept.CopyTo((int)(first - firstKept), page, 0, count);
            return count;
        }
    }

    /// <summary>
    /// Removes the oldest updates beyond <paramref name="maxCount"/> (0: any number) and those stored before
    /// <paramref name="cutoff"/>. Every node runs it with the same settings, so it is idempotent, as on Redis.
    /// </summary>
    public void Trim(long maxCount, DateTimeOffset? cutoff)
    {
        lock (_gate)
        {
            var remove = 0;
            while (remove < _kept.Count
                && ((maxCount > 0 && _kept.Count - remove > maxCount) || (cutoff is { } before && _kept[remove].StoredAt < before)))
            {
                _ids.Remove(_kept[remove].Id);
                remove++;
            }

            _kept.RemoveRange(0, remove);
        }
    }

    private long FirstKept => _lastSequence - _kept.Count + 1;

    private TaskCompletionSource Grow(Entry entry)
    {
        _journal.Add(entry);
        var grown = _grown;
        _grown = NewSignal();
        return grown;
    }

    // Asynchronous continuations: a reader waiting for the log to grow never runs on the appender's thread.
    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>One entry of the log: an update, or an announcement.</summary>
    internal readonly record struct Entry(StoredUpdate? Update, string? Announcement);
}
