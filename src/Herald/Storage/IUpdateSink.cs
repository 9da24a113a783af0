namespace Herald.Storage;

/// <summary>
/// Where a store hands what it stored: the hub's delivery side. A store is built with its sink (see
/// <see cref="UpdateStoreFactory"/>) and calls it; nothing is registered on a store after it is built, so an update's
/// way reads one direction: hub → store → sink → dispatcher.
/// </summary>
/// <remarks>
/// The hub's sink never throws and returns quickly (it only encodes the update once and queues it on subscribers),
/// so a store may call it on its writer, under its own ordering lock.
/// </remarks>
public interface IUpdateSink
{
    /// <summary>
    /// Takes every appended update exactly once, in sequence order, after it is readable through
    /// <see cref="IUpdateStore.ReadAfterAsync"/> and after <see cref="IUpdateStore.LastSequence"/> covers it. In a
    /// cluster that includes the updates other hubs appended to the shared log.
    /// </summary>
    void OnStored(StoredUpdate update);

    /// <summary>Takes every announcement made through <see cref="IUpdateStore.AnnounceAsync"/> by any hub sharing the store, once each, in the order made.</summary>
    void OnAnnouncement(string announcement);
}

/// <summary>
/// Builds the hub's store around the hub's <paramref name="sink"/>. Register one with <c>AddHerald().UseStore(…)</c>;
/// the hub calls it once, when it is built.
/// </summary>
/// <param name="services">The app's services, for options, logging and the clock.</param>
/// <param name="sink">Where the store hands every stored update and announcement.</param>
public delegate IUpdateStore UpdateStoreFactory(IServiceProvider services, IUpdateSink sink);
