using Microsoft.Extensions.Logging;

namespace Persistence.Stores.Sqlite;

/// <summary>The log messages of the SQLite store (event ids 6300–6399), category <c>Persistence.Stores.Sqlite.SqliteStore</c>.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 6301, Level = LogLevel.Information,
        Message = "SQLite store '{Store}' created the schema (version {Version}) in '{DataSource}'.")]
    public static partial void SchemaCreated(ILogger logger, string store, string dataSource, int version);

    [LoggerMessage(EventId = 6302, Level = LogLevel.Information,
        Message = "SQLite store '{Store}' migrated '{DataSource}' from schema version {FromVersion} to {ToVersion}.")]
    public static partial void SchemaMigrated(ILogger logger, string store, string dataSource, int fromVersion, int toVersion);

    [LoggerMessage(EventId = 6303, Level = LogLevel.Warning,
        Message = "SQLite store '{Store}': '{DataSource}' stayed locked by another connection past the busy timeout of {BusyTimeoutMilliseconds:0} ms; the operation failed with StoreUnavailableException.")]
    public static partial void BusyTimeout(ILogger logger, string store, string dataSource, double busyTimeoutMilliseconds, Exception exception);

    [LoggerMessage(EventId = 6304, Level = LogLevel.Warning,
        Message = "SQLite store '{Store}' waited {WaitMilliseconds:0} ms for the write lock of '{DataSource}' held by another connection.")]
    public static partial void LockWaitedLong(ILogger logger, string store, string dataSource, double waitMilliseconds);

    [LoggerMessage(EventId = 6305, Level = LogLevel.Information,
        Message = "SQLite store '{Store}' purged {Count} expired entries in the background in {ElapsedMilliseconds:0.#} ms.")]
    public static partial void BackgroundPurge(ILogger logger, string store, long count, double elapsedMilliseconds);

    [LoggerMessage(EventId = 6306, Level = LogLevel.Warning,
        Message = "SQLite store '{Store}' could not purge expired entries in the background; it tries again at the next interval.")]
    public static partial void BackgroundPurgeFailed(ILogger logger, string store, Exception exception);
}
