using Microsoft.Extensions.Logging;

namespace Herald.Storage.Sqlite;

/// <summary>
/// What the SQLite history logs (event ids 100-199): 100-109 group commit, 110-119 checkpoints, 120-129 retention.
/// </summary>
internal static partial class SqliteLog
{
    [LoggerMessage(EventId = 100, Level = LogLevel.Error, Message = "Storing {Count} updates in {Path} failed unexpectedly.")]
    public static partial void BatchFailedUnexpectedly(this ILogger logger, Exception exception, int count, string path);

    [LoggerMessage(EventId = 101, Level = LogLevel.Error,
        Message = "Storing {Count} updates in {Path} failed; publishes are refused (503) until it works again.")]
    public static partial void WritesFailing(this ILogger logger, Exception exception, int count, string path);

    [LoggerMessage(EventId = 102, Level = LogLevel.Debug, Message = "Storing {Count} updates in {Path} failed again.")]
    public static partial void WritesStillFailing(this ILogger logger, Exception exception, int count, string path);

    [LoggerMessage(EventId = 103, Level = LogLevel.Information, Message = "Storing updates in {Path} works again.")]
    public static partial void WritesRecovered(this ILogger logger, string path);

    [LoggerMessage(EventId = 104, Level = LogLevel.Warning,
        Message = "{Count} updates reported as failed were committed to {Path} after all.")]
    public static partial void FailedBatchCommitted(this ILogger logger, long count, string path);

    [LoggerMessage(EventId = 105, Level = LogLevel.Debug, Message = "Reading the last sequence of {Path} after a failure failed too.")]
    public static partial void ResynchronizeFailed(this ILogger logger, Exception exception, string path);

    [LoggerMessage(EventId = 106, Level = LogLevel.Debug, Message = "Rolling back a failed batch in {Path} failed.")]
    public static partial void RollBackFailed(this ILogger logger, Exception exception, string path);

    [LoggerMessage(EventId = 107, Level = LogLevel.Warning,
        Message = "The readiness probe cannot write to {Path}; the hub reports not ready until it can.")]
    public static partial void ProbeFailing(this ILogger logger, string path);

    [LoggerMessage(EventId = 108, Level = LogLevel.Information, Message = "{Path} can be written again; the hub reports ready.")]
    public static partial void ProbeRecovered(this ILogger logger, string path);

    [LoggerMessage(EventId = 109, Level = LogLevel.Debug, Message = "The readiness probe's write to {Path} failed.")]
    public static partial void ProbeFailed(this ILogger logger, Exception exception, string path);

    [LoggerMessage(EventId = 110, Level = LogLevel.Warning, Message = "Checkpointing the log of {Path} failed; retrying later.")]
    public static partial void CheckpointFailed(this ILogger logger, Exception exception, string path);

    [LoggerMessage(EventId = 111, Level = LogLevel.Debug,
        Message = "Copying the tail of the log of {Path} failed; retrying after the next checkpoint.")]
    public static partial void TailCheckpointFailed(this ILogger logger, Exception exception, string path);

    [LoggerMessage(EventId = 112, Level = LogLevel.Warning,
        Message = "The log of {Path} passed {Bound} bytes and could not be restarted: a reader held it for {Patience}.")]
    public static partial void LogRestartGaveUp(this ILogger logger, string path, long bound, TimeSpan patience);

    [LoggerMessage(EventId = 120, Level = LogLevel.Warning, Message = "Removing old updates from {Path} failed; retrying in {Interval}.")]
    public static partial void TrimFailed(this ILogger logger, Exception exception, string path, TimeSpan interval);

    [LoggerMessage(EventId = 121, Level = LogLevel.Error, Message = "Handing update {Sequence} from {Path} to the hub failed; it is stored, and resuming subscribers get it from history.")]
    public static partial void FanOutFailed(this ILogger logger, Exception exception, long sequence, string path);

    [LoggerMessage(EventId = 122, Level = LogLevel.Critical, Message = "The history writer for {Path} stopped unexpectedly; publishes are refused from now on.")]
    public static partial void WriterStopped(this ILogger logger, Exception exception, string path);
}
