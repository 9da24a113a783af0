using System.Runtime.CompilerServices;
using Herald.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Herald.Tests.Storage;

/// <summary>
/// A real store (whichever the hub would build) with its lookups and reads counted, and held back on request: a test
/// sees how many store calls a storm of resumes costs, and can let a storm gather on one call before it completes.
/// </summary>
internal sealed class CountingStore(IUpdateStore inner) : IUpdateStore
{
    private readonly Lock _gate = new();
    private TaskCompletionSource? _hold;
    private int _finds;
    private int _reads;
    private int _held;

    /// <summary>How many <see cref="FindSequenceAsync"/> calls reached the store.</summary>
    public int Finds => Volatile.Read(ref _finds);

    /// <summary>How many <see cref="ReadAfterAsync"/> reads reached the store.</summary>
    public int Reads => Volatile.Read(ref _reads);

    /// <summary>The ranges read, in the order the reads began (for failure messages).</summary>
    public System.Collections.Concurrent.ConcurrentQueue<(long After, long? UpTo)> Ranges { get; } = new();

    /// <summary>How many calls wait at the hold now.</summary>
    public int Held => Volatile.Read(ref _held);

    public long LastSequence => inner.LastSequence;

    /// <summary>Wraps the store factory registered so far: call last on the app's services.</summary>
    public static void Install(IServiceCollection services, Action<CountingStore> built)
    {
        var factory = (UpdateStoreFactory)services.Last(d => d.ServiceType == typeof(UpdateStoreFactory)).ImplementationInstance!;
        services.Replace(ServiceDescriptor.Singleton<UpdateStoreFactory>((provider, sink) =>
        {
            var store = new CountingStore(factory(provider, sink));
            built(store);
            return store;
        }));
    }

    /// <summary>From now on, lookups and reads wait until <see cref="ReleaseHeld"/> or <see cref="Open"/>.</summary>
    public void Hold()
    {
        lock (_gate)
        {
            _hold ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
    }

    /// <summary>Lets the calls waiting now go on; later ones wait again.</summary>
    public void ReleaseHeld()
    {
        TaskCompletionSource? released;
        lock (_gate)
        {
            released = _hold;
            _hold = released is null ? null : new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        released?.TrySetResult();
    }

    /// <summary>Lets every call through from now on.</summary>
    public void Open()
    {
        TaskCompletionSource? released;
        lock (_gate)
        {
            (released, _hold) = (_hold, null);
        }

        released?.TrySetResult();
    }

    public ValueTask AnnounceAsync(string announcement, CancellationToken cancellationToken) => inner.AnnounceAsync(announcement, cancellationToken);

    public Task StartAsync(CancellationToken cancellationToken) => inner.StartAsync(cancellationToken);

    public ValueTask<StoredUpdate> AppendAsync(Update update, CancellationToken cancellationToken) => inner.AppendAsync(update, cancellationToken);

    public async ValueTask<long?> FindSequenceAsync(string id, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _finds);
        await WaitAsync();
        return await inner.FindSequenceAsync(id, cancellationToken);
    }

    public async IAsyncEnumerable<StoredUpdate> ReadAfterAsync(long afterSequence, long? upToSequence, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _reads);
        Ranges.Enqueue((afterSequence, upToSequence));
        await WaitAsync();
        await foreach (var stored in inner.ReadAfterAsync(afterSequence, upToSequence, cancellationToken))
        {
            yield return stored;
        }
    }

    public ValueTask DisposeAsync()
    {
        Open();
        return inner.DisposeAsync();
    }

    private async Task WaitAsync()
    {
        Task? hold;
        lock (_gate)
        {
            hold = _hold?.Task;
        }

        if (hold is null)
        {
            return;
        }

        Interlocked.Increment(ref _held);
        try
        {
            await hold.WaitAsync(TimeSpan.FromSeconds(30));
        }
        finally
        {
            Interlocked.Decrement(ref _held);
        }
    }
}
