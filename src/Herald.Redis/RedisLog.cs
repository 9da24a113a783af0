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

    [LoggerMessage(EventId = 203, Level = LogLevel.Warning, Message = "Updates {From} to {To} left Redis at {Redis} before this node read them; its subscribers did not get them. Keep history longer (HeraldOptions.HistoryMaxCount, HistoryMaxAge) than a node may be cut off.")]
    public static partial void Missed(ILogger logger, long from, long to, string redis);

    [LoggerMessage(EventId = 204, Level = LogLevel.Warning, Message = "Skipping stream entry {EntryId} in {Stream}: Herald did not write it.")]
    public static partial void SkippedForeign(ILogger logger, string entryId, RedisKey stream);

    [LoggerMessage(EventId = 205, Level = LogLevel.Warning, Message = "Skipping stream entry {EntryId} in {Stream}: it lacks the fields of an update.")]
    public static partial void SkippedIncomplete(ILogger logger, string entryId, RedisKey stream);

    [LoggerMessage(EventId = 206, Level = LogLevel.Warning, Message = "Skipping stream entry {EntryId} in {Stream}: its topics are not a JSON array of strings.")]
    public static partial void SkippedTopics(ILogger logger, Exception? exception, string entryId, RedisKey stream);

    [LoggerMessage(EventId = 207, Level = LogLevel.Debug, Message = "Removing old updates from Redis at {Redis} failed; retrying in {Interval}.")]
    public static partial void TrimFailed(ILogger logger, Exception exception, string redis, TimeSpan interval);
}
