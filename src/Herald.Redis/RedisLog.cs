using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Herald.Redis;

/// <summary>What the Redis store logs (event ids 200-299).</summary>
internal static partial class RedisLog
{
    [LoggerMessage(EventId = 200, Level = LogLevel.Warning, Message = "Update {Sequence} is stored in Redis at {Redis} but this node has not read it back yet; it is dispatched once the reader catches up.")]
    public static partial void NotReadBack(ILogger logger, long sequence, string redis);

    [LoggerMessage(EventId = 201, Level = LogLevel.Warning, Message = "Reading updates from Redis at {Redis} failed ({Reason}); retrying until it is back.")]
    public static partial void ReadFailing(ILogger logger, string redis, string reason);

    [LoggerMessage(EventId = 202, Level = LogLevel.Information, Message = "Reading updates from Redis at {Redis} again, from sequence {Sequence}.")]
    public static partial void ReadingAgain(ILogger logger, string redis, long sequence);

    [LoggerMessage(EventId = 203, Level = LogLevel.Warning, Message = "Updates {From} to {To} left Redis at {Redis} before this node read them; its subscribers did not get them. Retention removed them (keep history longer than a node may be cut off: HeraldOptions.HistoryMaxCount, HistoryMaxAge) or Redis lost them (see event 208).")]
    public static partial void Missed(ILogger logger, long from, long to, string redis);

    [LoggerMessage(EventId = 204, Level = LogLevel.Warning, Message = "Skipping stream entry {EntryId} in {Stream}: Herald did not write it.")]
    public static partial void SkippedForeign(ILogger logger, string entryId, RedisKey stream);

    [LoggerMessage(EventId = 205, Level = LogLevel.Warning, Message = "Skipping stream entry {EntryId} in {Stream}: it lacks the fields of an update.")]
    public static partial void SkippedIncomplete(ILogger logger, string entryId, RedisKey stream);

    [LoggerMessage(EventId = 206, Level = LogLevel.Warning, Message = "Skipping stream entry {EntryId} in {Stream}: its topics are not a JSON array of strings.")]
    public static partial void SkippedTopics(ILogger logger, Exception? exception, string entryId, RedisKey stream);

    [LoggerMessage(EventId = 207, Level = LogLevel.Debug, Message = "Removing old updates from Redis at {Redis} failed; retrying in {Interval}.")]
    public static partial void TrimFailed(ILogger logger, Exception exception, string redis, TimeSpan interval);

    [LoggerMessage(EventId = 208, Level = LogLevel.Error, Message = "Redis at {Redis} came back without the updates this node had read up to sequence {Sequence}: its update stream ended at {Found}. Redis lost acknowledged writes, so they are gone from history (resuming from their ids cannot work); numbering jumps past that sequence (event 210), so no later update is hidden. For acknowledged updates to survive a Redis crash, run it with appendonly yes and appendfsync always.")]
    public static partial void StreamWentBack(ILogger logger, string redis, long sequence, string found);

    [LoggerMessage(EventId = 209, Level = LogLevel.Error, Message = "Redis at {Redis} lost updates this node had read up to sequence {Sequence}, and another node, which had not read them, numbered new updates from there before this node came back (stream now at {Found}): this node's subscribers do not get those. Run Redis with appendfsync always.")]
    public static partial void Renumbered(ILogger logger, string redis, long sequence, string found);

    [LoggerMessage(EventId = 210, Level = LogLevel.Warning, Message = "Redis at {Redis} had lost acknowledged updates; numbering went on from sequence {Sequence}, past what any node had read, and this node follows from there. Updates Redis lost are gone from history (see event 208).")]
    public static partial void NumberingJumped(ILogger logger, string redis, long sequence);
}
