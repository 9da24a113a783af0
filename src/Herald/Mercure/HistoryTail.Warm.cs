using Herald.Storage;

namespace Herald.Mercure;

/// <summary>The warm-up: after a restart, the tail starts with the store's newest updates, read once.</summary>
internal sealed partial class HistoryTail
{
    /// <summary>
    /// Fills the tail once with the store's newest updates (one read, shared by every caller), so that after a restart
    /// the resumes are served from memory. A store that cannot answer now leaves it cold; the next resume tries again.
    /// </summary>
    public Task WarmAsync(IUpdateStore store, CancellationToken cancellationToken)
    {
        if (!Enabled || Volatile.Read(ref _warmed))
        {
            return Task.CompletedTask;
        }

        lock (_gate)
        {
            // Off the caller's thread: a SQLite read runs synchronously, and the caller may hold nothing while it does.
            _warming ??= Task.Run(() => WarmCoreAsync(store), CancellationToken.None);
            return _warming.WaitAsync(cancellationToken);
        }
    }

    private async Task WarmCoreAsync(IUpdateStore store)
    {
        long after;
        long? upTo;
        long newest;
        lock (_gate)
        {
            var room = _capacity - _count;
            if (room <= 0)
            {
                MarkWarmed();
                return;
            }

            // Already fed by the sink: only what lies before its oldest; else everything from the newest `room` on.
            newest = store.LastSequence;
            // Bounded at the store's newest: what comes later reaches the tail through the sink, and a read past this
            // node's own position (a cluster node whose reader is behind) must not run ahead of what it delivered.
            (after, upTo) = _covering ? (Math.Max(0, _floor - room), _floor) : (Math.Max(0, newest - room), newest);
            if (upTo <= after)
            {
                // The sink has fed it since the store's first update: nothing older to read.
                MarkWarmed();
                return;
            }
        }

        var read = new List<Entry>();
        try
        {
            await foreach (var stored in store.ReadAfterAsync(after, upTo, CancellationToken.None).ConfigureAwait(false))
            {
                read.Add(Entry.For(stored, MercureHub.Encode(stored.Update)));
            }
        }
#pragma warning disable CA1031 // Only a head start: a tail left cold sends resumes to the store, which reports its own failures.
        catch (Exception)
#pragma warning restore CA1031
        {
            lock (_gate)
            {
                _warming = null;
            }

            return;
        }

        lock (_gate)
        {
            Merge(read, after, upTo, newest);
            MarkWarmed();
        }
    }

    /// <summary>
    /// Puts the warm-up's read (everything the store held in (<paramref name="after"/>, <paramref name="upTo"/>], or up
    /// to the read's end when it had no bound) in front of what the sink added meanwhile, when the two meet.
    /// </summary>
    private void Merge(List<Entry> read, long after, long? upTo, long newest)
    {
        // The read holds everything the store held up to here (a read without bound went at least to `newest`).
        var through = upTo ?? Math.Max(newest, read.Count > 0 ? read[^1].Sequence : after);
        if (_covering && through < _floor)
        {
            // The tail filled up and dropped its oldest meanwhile: what was read no longer joins it.
            return;
        }

        if (!_covering)
        {
            _covering = true;
            _floor = after;
            foreach (var entry in read)
            {
                PushBack(entry);
                TrimToBounds();
            }

            _last = through;
            return;
        }

        // In front of the oldest, newest first, while there is room; the floor follows what was taken.
        var floor = _floor;
        var i = read.Count - 1;
        while (i >= 0 && read[i].Sequence > floor)
        {
            i--;
        }

        for (; i >= 0; i--)
        {
            var entry = read[i];
            if (_count >= _capacity || _bytes + entry.Bytes > _maxBytes)
            {
                _floor = entry.Sequence;
                return;
            }

            PushFront(entry);
        }

        _floor = Math.Min(_floor, after);
    }

    private void MarkWarmed()
    {
        Volatile.Write(ref _warmed, true);
        _warming = null;
    }
}
