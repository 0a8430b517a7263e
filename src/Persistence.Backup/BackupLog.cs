using Microsoft.Extensions.Logging;

namespace Persistence.Backup;

/// <summary>The log messages of scheduled backups (event ids 6600–6699).</summary>
internal static partial class BackupLog
{
    [LoggerMessage(EventId = 6601, Level = LogLevel.Information,
        Message = "Scheduled backups of store '{Store}' into '{Directory}' every {Interval}: {IncrementalBetweenFulls} incrementals between full archives, {Keep} archives kept.")]
    public static partial void Started(ILogger logger, string store, string directory, TimeSpan interval, int incrementalBetweenFulls, int keep);

    [LoggerMessage(EventId = 6602, Level = LogLevel.Information,
        Message = "Scheduled backup of store '{Store}' wrote and verified the {Kind} archive '{Path}': {Entries} records, {Bytes} bytes in {ElapsedMilliseconds:0.#} ms.")]
    public static partial void Written(ILogger logger, string store, string kind, string path, long entries, long bytes, double elapsedMilliseconds);

    [LoggerMessage(EventId = 6603, Level = LogLevel.Error,
        Message = "Scheduled {Kind} backup of store '{Store}' into '{Directory}' failed after {ElapsedMilliseconds:0.#} ms; no archive was kept and the next run is on schedule.")]
    public static partial void Failed(ILogger logger, string store, string kind, string directory, double elapsedMilliseconds, Exception exception);

    [LoggerMessage(EventId = 6604, Level = LogLevel.Information,
        Message = "Scheduled backup of store '{Store}' deleted the archive '{Path}', beyond the {Keep} kept.")]
    public static partial void Deleted(ILogger logger, string store, string path, int keep);

    [LoggerMessage(EventId = 6605, Level = LogLevel.Warning,
        Message = "Scheduled backup of store '{Store}' could not delete old archives in '{Directory}'; it tries again after the next run.")]
    public static partial void RetentionFailed(ILogger logger, string store, string directory, Exception exception);
}
