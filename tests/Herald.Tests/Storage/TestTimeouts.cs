using Herald.Storage;

namespace Herald.Tests.Storage;

/// <summary>Every await in a store test is bounded, so a hang fails the test instead of the run.</summary>
internal static class TestTimeouts
{
    public static readonly TimeSpan Default = TimeSpan.FromSeconds(30);

    public static Task<T> Within<T>(this ValueTask<T> task) => task.AsTask().WaitAsync(Default);

    public static Task Within(this ValueTask task) => task.AsTask().WaitAsync(Default);

    public static Task<T> Within<T>(this Task<T> task) => task.WaitAsync(Default);

    public static Task Within(this Task task) => task.WaitAsync(Default);

    public static async Task<List<StoredUpdate>> ReadAllAsync(this IUpdateStore store, long afterSequence = 0, long? upToSequence = null)
    {
        using var timeout = new CancellationTokenSource(Default);
        var read = new List<StoredUpdate>();
        await foreach (var stored in store.ReadAfterAsync(afterSequence, upToSequence, timeout.Token).WithCancellation(timeout.Token))
        {
            read.Add(stored);
        }

        return read;
    }

    /// <summary>
    /// A stored update as plain values: <see cref="Update"/> is a record, but its topic list compares by
    /// reference, so records read back never equal the ones appended.
    /// </summary>
    public static string Describe(this StoredUpdate stored) =>
        $"{stored.Sequence}|{stored.Id}|{string.Join(' ', stored.Update.Topics)}|{stored.Update.Data}|{stored.Update.Private}|{stored.Update.EventType}|{stored.Update.ReconnectionInterval}|{stored.StoredAt:O}";

    public static IEnumerable<string> Describe(this IEnumerable<StoredUpdate> stored) => stored.Select(Describe);

    /// <summary>Polls until <paramref name="condition"/> holds; fails the test when the deadline passes first.</summary>
    public static async Task EventuallyAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow + Default;
        while (!await condition().WaitAsync(Default))
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"Timed out waiting until {what}.");
            }

            await Task.Delay(20);
        }
    }
}
