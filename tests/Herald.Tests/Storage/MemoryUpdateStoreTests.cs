using Herald.Storage;

namespace Herald.Tests.Storage;

public sealed class MemoryUpdateStoreTests : UpdateStoreSpec
{
    private protected override IUpdateStore CreateStore(StoreSettings settings, IUpdateSink sink) =>
        new MemoryUpdateStore(
            new HeraldOptions { HistoryMaxCount = settings.HistoryMaxCount, HistoryMaxAge = settings.HistoryMaxAge },
            sink,
            settings.Time);

    [Theory]
    [InlineData(0, MemoryUpdateStore.MaxCapacity)]
    [InlineData(1_000_000, MemoryUpdateStore.MaxCapacity)]
    [InlineData(-1, MemoryUpdateStore.MaxCapacity)]
    [InlineData(500, 500)]
    public void Capacity_is_the_count_limit_capped_for_memory(long historyMaxCount, int capacity)
    {
        var store = new MemoryUpdateStore(new HeraldOptions { HistoryMaxCount = historyMaxCount }, new TestSink());

        Assert.Equal(capacity, store.Capacity);
    }

    [Fact]
    public async Task The_ring_drops_the_oldest_at_once_when_full()
    {
        var store = new MemoryUpdateStore(new HeraldOptions { HistoryMaxCount = 3_000, HistoryMaxAge = TimeSpan.Zero }, new TestSink());
        await using (store)
        {
            await store.StartAsync(CancellationToken.None).Within();
            for (var i = 0; i < 7_000; i++)
            {
                await store.AppendAsync(NewUpdate(id: $"urn:test:{i}"), CancellationToken.None).Within();
            }

            var kept = await store.ReadAllAsync();

            Assert.Equal(3_000, kept.Count);
            Assert.Equal("urn:test:4000", kept[0].Id);
            Assert.Equal(7_000, store.LastSequence);
            Assert.Null(await store.FindSequenceAsync("urn:test:3999", CancellationToken.None).Within());
            Assert.Equal(4_001, await store.FindSequenceAsync("urn:test:4000", CancellationToken.None).Within());
        }
    }
}
