namespace Herald.Storage;

/// <summary>
/// Where a store hands what it stored: the hub's delivery side. A store is built with its sink (see
/// <see cref="UpdateStoreFactory"/>) and calls it; nothing is registered on a store after it is built, so an update's
/// way reads one direction: hub → store → sink → dispatcher.
/// </summary>
/// <remarks>
/// The hub's sink never throws and returns quickly (it only encodes the update once and queues it on subscribers),
/// so a store may call it on its writer, under its own ordering lock. It must not be called concurrently with itself:
/// one caller at a time, in order (a single writer or reader thread, or a lock), as the order is what subscribers see.
/// A store must not call it from inside <see cref="IUpdateStore.ReadAfterAsync"/>, nor for an update it failed to store.
/// </remarks>
public interface IUpdateSink
{
    /// <summary>
    /// Takes every appended update exactly once, in sequence order, after it is readable through
    /// <see cref="IUpdateStore.ReadAfterAsync"/> and after <see cref="IUpdateStore.LastSequence"/> covers it. In a
    /// cluster that includes the updates other hubs appended to the shared log.
    /// </summary>
    void OnStored(StoredUpdate update);

    /// <summary>
    /// Takes every announcement made through <see cref="IUpdateStore.AnnounceAsync"/> by any hub sharing the store, once
    /// each, in the same order on every hub (a single-node store: before <c>AnnounceAsync</c> returns). An announcement
    /// is passed on as the text it was made with; it is not history and takes no sequence.
    /// </summary>
    void OnAnnouncement(string announcement);
}

/// <summary>
/// Builds the hub's store around the hub's <paramref name="sink"/>. Register one with <c>AddHerald().UseStore(…)</c>;
/// the hub calls it once, when it is built.
/// </summary>
/// <param name="services">The app's services, for options, logging and the clock.</param>
/// <param name="sink">Where the store hands every stored update and announcement.</param>
public delegate IUpdateStore UpdateStoreFactory(IServiceProvider services, IUpdateSink sink);
