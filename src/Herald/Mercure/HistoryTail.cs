using System.Collections.Concurrent;
using Herald.Storage;

namespace Herald.Mercure;

/// <summary>
/// The newest updates of history, in memory, with their frames: what a reconnect storm resumes from. Fed by the hub's
/// sink in sequence order (every update this node delivers, on Redis those other nodes appended too) and warmed once
/// from the store's newest updates, so that after a restart thousands of subscribers resuming from a handful of ids
/// resolve their ids and replay without a store call, each filtering the same shared frames by its own selectors.
/// </summary>
/// <remarks>
/// <para>
/// It holds everything the store holds in (<c>floor</c>, <c>last</c>]: what is older is read from the store
/// (<see cref="SharedHistoryReads"/>). It never serves what the store no longer serves: it keeps at most
/// <see cref="HeraldOptions.HistoryMaxCount"/> sequences behind the store's newest and nothing older than
/// <see cref="HeraldOptions.HistoryMaxAge"/> (on the later of the system clock and the hub's), the rules every built-in
/// store trims by, and it drops from its oldest end only, as they do. A store that removes more than those rules say
/// should run with <see cref="HeraldOptions.ReplayCacheSize"/> 0. Built-in stores number updates one by one, so a hole in
/// the numbering the sink hands (Redis came back without writes it had acknowledged) empties the tail: it must not
/// replay what the store lost.
/// </para>
/// <para>
/// The sink adds an update here before it dispatches it: a subscriber registered before that dispatch reads
/// <see cref="UpTo"/> after registering, so it either replays the update from here or holds its live frame; never neither.
/// Every lock here is held for a few instructions (a copy of at most one buffer of references), because the sink takes it
/// on the store's writer or fan-out thread; nothing waits for a subscriber under it.
/// </para>
/// </remarks>
internal sealed partial class HistoryTail
{
    /// <summary>
    /// What one entry costs beside its frame and strings: the entry, the update without its data, the ring's slot and the
    /// id's dictionary entry (measured: 10,000 entries of 200-byte updates hold 4.6 MB, about 190 bytes each beside the frame).
    /// </summary>
    internal const int EntryOverhead = 200;

    private const int InitialRingSize = 1024;

    private readonly Lock _gate = new();
    // Concurrent so a resume can look its id up before taking _gate: the id is the client's, as long as a header may be,
    // and hashing it under the lock the sink takes on the publish path would let a client hold publishing up. Written only
    // under _gate.
    private readonly ConcurrentDictionary<string, Entry> _byId = new(StringComparer.Ordinal);
    private readonly int _capacity;
    private readonly long _maxBytes;
    private readonly long _maxCount;
    private readonly TimeSpan _maxAge;
    private readonly TimeProvider _time;
    private Entry[] _ring;
    private int _head;
    private int _count;
    private long _bytes;

    // Everything the store holds in (_floor, _last] is in the ring, once _covering; before that the tail knows nothing.
    private bool _covering;
    private long _floor;
    private long _last;

    private bool _warmed;
    private Task? _warming;

    /// <summary>An update as the tail keeps it: without its data (the frame carries it), with its frame (null: unframable).</summary>
    internal sealed class Entry(long sequence, Update update, DateTimeOffset storedAt, byte[]? frame)
    {
        public long Sequence { get; } = sequence;

        /// <summary>The update without <see cref="Update.Data"/>: topics, privacy and id for matching and <c>MayRead</c>.</summary>
        public Update Update { get; } = update;

        public DateTimeOffset StoredAt { get; } = storedAt;

        /// <summary>The encoded frame, shared with live delivery and every replay; <c>null</c> when it cannot be framed.</summary>
        public byte[]? Frame { get; } = frame;

        /// <summary>What it is counted as against <see cref="HeraldOptions.ReplayCacheBytes"/>.</summary>
        public long Bytes { get; } = Cost(update, frame);

        /// <summary>An entry for <paramref name="stored"/> with the frame it was (or is now) encoded to.</summary>
        public static Entry For(StoredUpdate stored, byte[]? frame)
            => new(stored.Sequence, stored.Update with { Data = null }, stored.StoredAt, frame);

        private static long Cost(Update update, byte[]? frame)
        {
            long bytes = EntryOverhead + (frame?.Length ?? 0) + (2L * (update.EventId?.Length ?? 0));
            foreach (var topic in update.Topics)
            {
                bytes += 24 + (2L * topic.Length);
            }

            return bytes;
        }
    }

    /// <param name="options">The hub's options: <see cref="HeraldOptions.ReplayCacheSize"/>, <see cref="HeraldOptions.ReplayCacheBytes"/> and retention.</param>
    /// <param name="time">The hub's clock; retention by age is checked on it and on the system clock, whichever is later.</param>
    public HistoryTail(HeraldOptions options, TimeProvider time)
    {
        _capacity = Math.Max(0, options.ReplayCacheSize);
        _maxBytes = options.ReplayCacheBytes > 0 ? options.ReplayCacheBytes : 0;
        if (_maxBytes == 0)
        {
            _capacity = 0;
        }

        _maxCount = options.HistoryMaxCount;
        _maxAge = options.HistoryMaxAge;
        _time = time;
        _ring = new Entry[Math.Min(_capacity, InitialRingSize)];
    }

    /// <summary>Whether the tail keeps anything (<see cref="HeraldOptions.ReplayCacheSize"/> and the byte bound above zero).</summary>
    public bool Enabled => _capacity > 0;

    /// <summary>How many updates it holds now.</summary>
    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _count;
            }
        }
    }

    /// <summary>What its entries are counted as, in bytes (at most <see cref="HeraldOptions.ReplayCacheBytes"/>).</summary>
    public long Bytes
    {
        get
        {
            lock (_gate)
            {
                return _bytes;
            }
        }
    }

    /// <summary>
    /// From the sink, in sequence order, before the update is dispatched. Never throws: the sink must dispatch
    /// whatever happens here. An update the warm-up already brought in is skipped.
    /// </summary>
    public void Add(StoredUpdate stored, byte[]? frame)
    {
        if (!Enabled)
        {
            return;
        }

        var entry = Entry.For(stored, frame);
        lock (_gate)
        {
            if (_covering && entry.Sequence <= _last)
            {
                return;
            }

            if (_covering && entry.Sequence > _last + 1)
            {
                // A hole in the numbering: Redis lost acknowledged writes and numbering jumped past them, or retention
                // trimmed what this node had not read. What the tail holds may be gone from the store: start over here.
                Clear();
            }

            if (!_covering)
            {
                _covering = true;
                _floor = entry.Sequence - 1;
            }

            PushBack(entry);
            _last = entry.Sequence;
            TrimToBounds();
        }
    }

    /// <summary>
    /// The position a replay that starts now runs up to: every update above it reaches a subscriber registered before
    /// this call live, and everything up to it can be read (here or from the store).
    /// </summary>
    public long UpTo(IUpdateStore store)
    {
        // The store's newest may be ahead of the tail: committed, not yet handed to the sink; it is read from the store.
        lock (_gate)
        {
            return Enabled && _covering ? Math.Max(_last, store.LastSequence) : store.LastSequence;
        }
    }

    /// <summary>The entry for <paramref name="id"/>, when the tail holds it and retention still keeps it.</summary>
    public Entry? Find(string id, IUpdateStore store)
    {
        if (!Enabled)
        {
            return null;
        }

        if (!_byId.TryGetValue(id, out var entry))
        {
            return null;
        }

        lock (_gate)
        {
            // Still held: the ring holds everything above the floor while covering (a clear or a trim since the lookup
            // raised the floor past it, or stopped covering).
            TrimRetained(store);
            return _covering && entry.Sequence > _floor ? entry : null;
        }
    }

    /// <summary>
    /// Copies the entries after <paramref name="after"/>, up to <paramref name="upTo"/>, into <paramref name="buffer"/> (as
    /// many as fit) and returns how many. When the store may hold updates right after <paramref name="after"/> that the
    /// tail does not, copies nothing and sets <paramref name="missingThrough"/> to the position up to which the store
    /// must be read first; otherwise it is zero.
    /// </summary>
    public int Read(long after, long upTo, Entry[] buffer, IUpdateStore store, out long missingThrough)
    {
        missingThrough = 0;
        if (!Enabled)
        {
            missingThrough = upTo;
            return 0;
        }

        lock (_gate)
        {
            TrimRetained(store);
            if (!_covering || after < _floor)
            {
                missingThrough = _covering ? Math.Min(_floor, upTo) : upTo;
                return 0;
            }

            if (after >= _last)
            {
                // Beyond the tail's newest: stored, not yet delivered here.
                missingThrough = upTo;
                return 0;
            }

            var taken = 0;
            for (var i = FirstAfter(after); i < _count && taken < buffer.Length; i++)
            {
                var entry = _ring[(_head + i) % _ring.Length];
                if (entry.Sequence > upTo)
                {
                    break;
                }

                buffer[taken++] = entry;
            }

            if (taken == 0 && after < upTo)
            {
                // Nothing held between the cursor and the end (a warm-up that found the store's newest already trimmed,
                // a numbering gap): the store says what lies there, so the replay never ends short of its end.
                missingThrough = upTo;
            }

            return taken;
        }
    }

    /// <summary>Drops from the oldest end what retention no longer keeps, by the store's newest sequence and the clocks.</summary>
    private void TrimRetained(IUpdateStore store)
    {
        if (_count == 0)
        {
            return;
        }

        var keepAbove = long.MinValue;
        var maxCount = store is MemoryUpdateStore memory ? memory.Capacity : _maxCount;
        if (maxCount > 0)
        {
            keepAbove = Math.Max(store.LastSequence, _last) - maxCount;
        }

        var cutoff = DateTimeOffset.MinValue;
        if (_maxAge > TimeSpan.Zero)
        {
            var now = _time.GetUtcNow();
            var system = TimeProvider.System.GetUtcNow();
            cutoff = (now > system ? now : system) - _maxAge;
        }

        while (_count > 0)
        {
            var oldest = _ring[_head];
            if (oldest.Sequence > keepAbove && oldest.StoredAt >= cutoff)
            {
                return;
            }

            PopFront();
        }
    }

    private void TrimToBounds()
    {
        while (_count > _capacity || (_bytes > _maxBytes && _count > 0))
        {
            PopFront();
        }
    }

    /// <summary>The ring index (from the oldest) of the first entry above <paramref name="after"/>; sequences rise along the ring.</summary>
    private int FirstAfter(long after)
    {
        int low = 0, high = _count;
        while (low < high)
        {
            var middle = (low + high) >>> 1;
            if (_ring[(_head + middle) % _ring.Length].Sequence <= after)
            {
                low = middle + 1;
            }
            else
            {
                high = middle;
            }
        }

        return low;
    }

    private void PushBack(Entry entry)
    {
        Grow();
        _ring[(_head + _count) % _ring.Length] = entry;
        _count++;
        Index(entry);
    }

    private void PushFront(Entry entry)
    {
        Grow();
        _head = (_head - 1 + _ring.Length) % _ring.Length;
        _ring[_head] = entry;
        _count++;
        Index(entry);
    }

    private void Index(Entry entry)
    {
        _bytes += entry.Bytes;

        // Ids are unique among the updates kept; an id retention freed may be reused, and the newer one wins.
        if (!_byId.TryGetValue(entry.Update.EventId!, out var held) || held.Sequence < entry.Sequence)
        {
            _byId[entry.Update.EventId!] = entry;
        }
    }

    private void Clear()
    {
        Array.Clear(_ring);
        _byId.Clear();
        _head = 0;
        _count = 0;
        _bytes = 0;
        _covering = false;
    }

    private void PopFront()
    {
        var oldest = _ring[_head];
        _ring[_head] = null!;
        _head = (_head + 1) % _ring.Length;
        _count--;
        _bytes -= oldest.Bytes;
        _floor = oldest.Sequence;
        // Only if the id still names this entry (a newer update may have reused an id retention freed).
        _byId.TryRemove(new KeyValuePair<string, Entry>(oldest.Update.EventId!, oldest));
    }

    private void Grow()
    {
        if (_count < _ring.Length)
        {
            return;
        }

        var larger = new Entry[Math.Max(4, Math.Min(_ring.Length * 2, _capacity + 1))];
        for (var i = 0; i < _count; i++)
        {
            larger[i] = _ring[(_head + i) % _ring.Length];
        }

        _ring = larger;
        _head = 0;
    }
}
