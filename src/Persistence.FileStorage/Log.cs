using Microsoft.Extensions.Logging;

namespace Persistence.FileStorage;

/// <summary>The log messages of the file-store engine (event ids 6200–6299); the category is the store's type name.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 6201, Level = LogLevel.Warning,
        Message = "File store '{Store}' completed a batch that a crashed writer left in the journal '{JournalPath}' ({Steps} steps).")]
    public static partial void JournalReplayed(ILogger logger, string store, string journalPath, int steps);

    [LoggerMessage(EventId = 6202, Level = LogLevel.Warning,
        Message = "File store '{Store}' waited {WaitMilliseconds:0} ms for the write lock '{LockPath}' held by another writer.")]
    public static partial void LockWaitedLong(ILogger logger, string store, string lockPath, double waitMilliseconds);

    [LoggerMessage(EventId = 6203, Level = LogLevel.Warning,
        Message = "File store '{Store}' could not take the write lock '{LockPath}' within its lock timeout of {TimeoutMilliseconds:0} ms.")]
    public static partial void LockTimedOut(ILogger logger, string store, string lockPath, double timeoutMilliseconds, Exception exception);

    [LoggerMessage(EventId = 6204, Level = LogLevel.Error,
        Message = "File store '{Store}' committed a write but could not record it in the change log '{LogPath}'; change-feed consumers will be told to reload.")]
    public static partial void ChangeLogWriteFailed(ILogger logger, string store, string logPath, Exception exception);
}
