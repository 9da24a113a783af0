using System.Runtime.CompilerServices;
using Herald.Storage;

namespace Herald.Tests.Cluster;

/// <summary>
/// One node's store on a <see cref="SharedMemoryLog"/>: appends go to the shared log, and a reader of the node's
/// own hands every entry of the log to the node's sink, once and in log order, the way <c>RedisUpdateStore</c>
/// follows its stream. Written on the public store contract (<see cref="IUpdateStore"/>, <see cref="IUpdateSink"/>),
/// as a store outside Herald would be, and like one it awaits with <c>ConfigureAwait(false)</c>: its appends complete on
/// its reader, not on the caller's context (a test runner's context has as many threads as cores).
/// </summary>
/// <remarks>
/// As on Redis, <see cref="LastSequence"/> moves only when the reader passes an update, just before the sink gets
/// it, and an append completes once its own update came back through the reader. A replay may therefore read
/// updates from the log that this node's sink has not had yet; the hub must drop those when they arrive live.
/// </remarks>
internal sealed class SharedMemoryStore : IUpdateStore
{
    private const int PageSize = 256;
    private const int ReadBatch = 1000;

    private const int Created = 0;
    private const int Started = 1;
    private const int Disposed = 2;

    private readonly SharedMemoryLog _log;
    private readonly IUpdateSink _sink;
    private readonly long _maxCount;
    private readonly TimeSpan _maxAge;
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _stopping = new();

    // Appends waiting for the reader to pass their sequence, lowest first.
    private readonly Lock _waitGate = new();
    private readonly PriorityQueue<TaskCompletionSource, long> _waiting = new();
    private long _deliveredThrough;

    private long _lastSequence;
    private int _state;

    // Set while the reader is held back (a node whose link to the log lags); guarded by _waitGate.
    private TaskCompletionSource? _paused;
    private Task _reader = Task.CompletedTask;

    public SharedMemoryStore(SharedMemoryLog log, IUpdateSink sink, HeraldOptions options, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(log);
        ArgumentNullException.ThrowIfNull(sink);
        ArgumentNullException.ThrowIfNull(options);
        _log = log;
        _sink = sink;
        _maxCount = options.HistoryMaxCount;
        _maxAge = options.HistoryMaxAge;
        _time = time ?? TimeProvider.System;
    }

    public long LastSequence => Volatile.Read(ref _lastSequence);

    /// <summary>
    /// Holds this node's reader back before its next entry, until <see cref="ResumeReading"/>: the node lags behind
    /// the log, as a Redis node does whose reader is slow or reconnecting, while the others go on.
    /// </summary>
    public void PauseReading()
    {
        lock (_waitGate)
        {
            _paused ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
    }

    /// <summary>Lets the reader catch up on everything appended while it was held back.</summary>
    public void ResumeReading()
    {
        TaskCompletionSource? paused;
        lock (_waitGate)
        {
            (paused, _paused) = (_paused, null);
        }

        paused?.TrySetResult();
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        switch (Interlocked.CompareExchange(ref _state, Started, Created))
        {
            case Started:
                throw new InvalidOperationException("The store has already been started.");
            case Disposed:
                throw new ObjectDisposedException(nameof(SharedMemoryStore));
        }

        // Like a Redis node: what was appended before this node started is history, not live news.
        var (position, last) = _log.Tail();
        Volatile.Write(ref _lastSequence, last);
        lock (_waitGate)
        {
            _deliveredThrough = last;
        }

        _reader = Task.Run(() => ReadAsync(position, _stopping.Token), CancellationToken.None);
        return Task.CompletedTask;
    }

    public ValueTask AnnounceAsync(string announcement, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(announcement);
        ThrowIfNotRunning();
        cancellationToken.ThrowIfCancellationRequested();
        _log.Announce(announcement);
        return ValueTask.CompletedTask;
    }

    public ValueTask<StoredUpdate> AppendAsync(Update update, CancellationToken cancellationToken)
    {
        // Refusals are thrown at once, as the contract says.
        ArgumentNullException.ThrowIfNull(update);
        if (update.Topics is null || update.Topics.Count == 0)
        {
            throw new ArgumentException("An update needs at least one topic.", nameof(update));
        }

        ThrowIfNotRunning();
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<StoredUpdate>(cancellationToken);
        }

        return AppendCoreAsync(update.EventId is null ? update with { EventId = "urn:uuid:" + Guid.CreateVersion7() } : update);
    }

    public ValueTask<long?> FindSequenceAsync(string id, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(id);
        ThrowIfNotRunning();
        Trim();
        return ValueTask.FromResult(_log.Find(id));
    }

    public IAsyncEnumerable<StoredUpdate> ReadAfterAsync(long afterSequence, long? upToSequence, CancellationToken cancellationToken)
    {
        ThrowIfNotRunning();
        return ReadAfter(afterSequence, upToSequence ?? long.MaxValue, cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _state, Disposed) == Disposed)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        await _reader.ConfigureAwait(false);
        _stopping.Dispose();

        // The updates they wait for are stored; they return, dispatched or not, as a Redis node's appends do.
        Release(long.MaxValue);
    }

    private async ValueTask<StoredUpdate> AppendCoreAsync(Update update)
    {
        Trim();
        var stored = _log.Append(update, _time.GetUtcNow())

            // The one internal call: a store outside Herald cannot set DuplicateUpdateIdException.Id, which the spec checks.
            ?? throw DuplicateUpdateIdException.For(update.EventId!);
        await WhenDelivered(stored.Sequence).ConfigureAwait(false);
        return stored;
    }

    private async IAsyncEnumerable<StoredUpdate> ReadAfter(long after, long upTo, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        // A page is copied under the log's lock and yielded outside it, so a slow reader never holds up appends.
        var page = new StoredUpdate[PageSize];
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            ThrowIfNotRunning();
            Trim();
            var taken = _log.CopyKept(after, upTo, page);
            for (var i = 0; i < taken; i++)
            {
                yield return page[i];
            }

            if (taken < PageSize)
            {
                yield break;
            }

            after = page[taken - 1].Sequence;
            await Task.Yield();
        }
    }

    /// <summary>The node's reader: every entry of the shared log, once, in log order, to this node's sink.</summary>
    private async Task ReadAsync(int position, CancellationToken stopping)
    {
        var batch = new List<SharedMemoryLog.Entry>(ReadBatch);
        while (!stopping.IsCancellationRequested)
        {
            batch.Clear();
            Task? paused;
            lock (_waitGate)
            {
                paused = _paused?.Task;
            }

            var grown = paused ?? _log.ReadFrom(position, ReadBatch, batch);
            if (batch.Count == 0)
            {
                try
                {
                    await grown.WaitAsync(stopping).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                continue;
            }

            foreach (var entry in batch)
            {
                if (entry.Update is { } stored)
                {
                    // LastSequence covers an update before the sink gets it: the hub's replay relies on that.
                    Volatile.Write(ref _lastSequence, stored.Sequence);
                    _sink.OnStored(stored);
                    Release(stored.Sequence);
                }
                else
                {
                    _sink.OnAnnouncement(entry.Announcement!);
                }
            }

            position += batch.Count;
        }
    }

    private Task WhenDelivered(long sequence)
    {
        lock (_waitGate)
        {
            if (_deliveredThrough >= sequence)
            {
                return Task.CompletedTask;
            }

            var delivered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiting.Enqueue(delivered, sequence);
            return delivered.Task;
        }
    }

    private void Release(long through)
    {
        List<TaskCompletionSource>? released = null;
        lock (_waitGate)
        {
            _deliveredThrough = Math.Max(_deliveredThrough, through);
            while (_waiting.TryPeek(out var waiter, out var sequence) && sequence <= through)
            {
                _waiting.Dequeue();
                (released ??= []).Add(waiter);
            }
        }

        foreach (var waiter in released ?? [])
        {
            waiter.TrySetResult();
        }
    }

    private void Trim() => _log.Trim(_maxCount, _maxAge > TimeSpan.Zero ? _time.GetUtcNow() - _maxAge : null);

    private void ThrowIfNotRunning()
    {
        switch (Volatile.Read(ref _state))
        {
            case Created:
                throw new InvalidOperationException("The store has not been started.");
            case Disposed:
                throw new ObjectDisposedException(nameof(SharedMemoryStore));
        }
    }
}
