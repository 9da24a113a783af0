using System.Runtime.CompilerServices;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Herald.Storage;

/// <summary>
/// History in a bounded ring in memory: no durability, for hubs without a data directory and for tests.
/// </summary>
/// <remarks>
/// One lock orders everything: appends take a sequence, enter the ring and reach the sink inside it, so the
/// sink sees sequence order without a queue of its own. The sink is the hub's dispatcher, which only enqueues,
/// so the lock is held for microseconds. Sequences are contiguous, so a position in the ring is arithmetic, not a
/// search. Retention by age is applied lazily, whenever the ring is touched: nothing expired is ever returned,
/// and no timer is needed.
/// </remarks>
internal sealed class MemoryUpdateStore : IUpdateStore, IHealthCheck
{
    /// <summary>
    /// The most updates kept whatever <see cref="HeraldOptions.HistoryMaxCount"/> says: a memory hub with the
    /// default of a million would otherwise hold up to a million payloads in RAM.
    /// </summary>
    internal const int MaxCapacity = 100_000;

    private const int PageSize = 256;
    private const int InitialRingSize = 1024;

    private readonly object _gate = new();
    private readonly Dictionary<string, long> _sequences = new(StringComparer.Ordinal);
    private readonly int _capacity;
    private readonly TimeSpan _maxAge;
    private readonly TimeProvider _time;
    private StoredUpdate[] _ring;
    private int _head;
    private int _count;
    private long _lastSequence;
    private readonly IUpdateSink _sink;
    private bool _started;
    private bool _disposed;

    public MemoryUpdateStore(HeraldOptions options, IUpdateSink sink, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(sink);
        _sink = sink;
        _capacity = CapacityFor(options.HistoryMaxCount);
        _maxAge = options.HistoryMaxAge;
        _time = time ?? TimeProvider.System;
        _ring = new StoredUpdate[Math.Min(_capacity, InitialRingSize)];
    }

    /// <summary>How many updates this store keeps at most.</summary>
    public int Capacity => _capacity;

    public long LastSequence => Volatile.Read(ref _lastSequence);

    internal static int CapacityFor(long historyMaxCount) =>
        historyMaxCount <= 0 || historyMaxCount > MaxCapacity ? MaxCapacity : (int)historyMaxCount;

    /// <summary>One node, nothing stored: the sink gets the announcement at once, on the caller's thread.</summary>
    public ValueTask AnnounceAsync(string announcement, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(announcement);
        lock (_gate)
        {
            ThrowIfNotRunning();
        }

        _sink.OnAnnouncement(announcement);
        return ValueTask.CompletedTask;
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _started = true;
        }

        return Task.CompletedTask;
    }

    public ValueTask<StoredUpdate> AppendAsync(Update update, CancellationToken cancellationToken)
    {
        UpdateValidation.ThrowIfInvalid(update);
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<StoredUpdate>(cancellationToken);
        }

        lock (_gate)
        {
            ThrowIfNotRunning();
            var now = _time.GetUtcNow();
            TrimExpired(now);
            var id = update.EventId ?? UpdateValidation.NewId();
            if (_sequences.ContainsKey(id))
            {
                return ValueTask.FromException<StoredUpdate>(DuplicateUpdateIdException.For(id));
            }

            var stored = new StoredUpdate(_lastSequence + 1, update.EventId is null ? update with { EventId = id } : update, now);
            if (_count == _capacity)
            {
                RemoveOldest();
            }
            else if (_count == _ring.Length)
            {
                Grow();
            }

            _ring[(_head + _count) % _ring.Length] = stored;
            _count++;
            _sequences[id] = stored.Sequence;
            Volatile.Write(ref _lastSequence, stored.Sequence);
            Notify(stored);
            return ValueTask.FromResult(stored);
        }
    }

    public ValueTask<long?> FindSequenceAsync(string id, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(id);
        lock (_gate)
        {
            ThrowIfNotRunning();
            TrimExpired(_time.GetUtcNow());
            return ValueTask.FromResult(_sequences.TryGetValue(id, out var sequence) ? sequence : (long?)null);
        }
    }

    public IAsyncEnumerable<StoredUpdate> ReadAfterAsync(long afterSequence, long? upToSequence, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            ThrowIfNotRunning();
        }

        return ReadAfter(afterSequence, upToSequence ?? long.MaxValue, cancellationToken).ToAsyncEnumerable();
    }

    /// <summary>Ready once started, until disposed: memory always takes an append. Read without the lock appends take.</summary>
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        => Task.FromResult(Volatile.Read(ref _started) && !Volatile.Read(ref _disposed)
            ? HealthCheckResult.Healthy()
            : HealthCheckResult.Unhealthy("the history is not running"));

    public ValueTask DisposeAsync()
    {
        lock (_gate)
        {
            _disposed = true;
            _ring = [];
            _head = 0;
            _count = 0;
            _sequences.Clear();
        }

        return ValueTask.CompletedTask;
    }

    private IEnumerable<StoredUpdate> ReadAfter(long after, long upTo, CancellationToken cancellationToken)
    {
        // Copy a page under the lock and yield outside it, so a slow reader never holds up appends.
        var page = new StoredUpdate[PageSize];
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int taken;
            lock (_gate)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                TrimExpired(_time.GetUtcNow());
                var oldest = _lastSequence - _count + 1;
                var first = Math.Max(after + 1, oldest);
                var last = Math.Min(upTo, _lastSequence);
                taken = first > last ? 0 : (int)Math.Min(PageSize, last - first + 1);
                var offset = (int)(first - oldest);
                for (var i = 0; i < taken; i++)
                {
                    page[i] = _ring[(_head + offset + i) % _ring.Length];
                }
            }

            for (var i = 0; i < taken; i++)
            {
                yield return page[i];
            }

            if (taken < PageSize)
            {
                yield break;
            }

            after = page[taken - 1].Sequence;
        }
    }

    private void Notify(StoredUpdate stored) => _sink.OnStored(stored);

    private void TrimExpired(DateTimeOffset now)
    {
        if (_maxAge <= TimeSpan.Zero)
        {
            return;
        }

        var cutoff = now - _maxAge;
        while (_count > 0 && _ring[_head].StoredAt < cutoff)
        {
            RemoveOldest();
        }
    }

    private void RemoveOldest()
    {
        var oldest = _ring[_head];
        _sequences.Remove(oldest.Id);
        _ring[_head] = null!;
        _head = (_head + 1) % _ring.Length;
        _count--;
    }

    private void Grow()
    {
        var larger = new StoredUpdate[(int)Math.Min((long)_ring.Length * 2, _capacity)];
        for (var i = 0; i < _count; i++)
        {
            larger[i] = _ring[(_head + i) % _ring.Length];
        }

        _ring = larger;
        _head = 0;
    }

    private void ThrowIfNotRunning()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!_started)
        {
            throw new InvalidOperationException("The store has not been started.");
        }
    }
}
