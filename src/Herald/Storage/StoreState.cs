namespace Herald.Storage;

/// <summary>Where a store is in its life (see <see cref="StoreLifecycle"/>).</summary>
public enum StoreState
{
    /// <summary>Built, not started (or a start failed and may be tried again).</summary>
    Created,

    /// <summary><see cref="IUpdateStore.StartAsync"/> is running.</summary>
    Starting,

    /// <summary>Started: the store takes appends and reads.</summary>
    Started,

    /// <summary>Disposed: every call throws <see cref="ObjectDisposedException"/>.</summary>
    Disposed,
}
