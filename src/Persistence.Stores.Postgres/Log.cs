using Microsoft.Extensions.Logging;

namespace Persistence.Stores.Postgres;

/// <summary>
/// The log messages of the PostgreSQL store (event ids 6500–6599), category <c>Persistence.Stores.Postgres.PostgresStore</c>.
/// They name the server by host, port, database and table, never by connection string: no password is ever logged.
/// </summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 6501, Level = LogLevel.Information,
        Message = "PostgreSQL store '{Store}' created the schema (version {Version}) as {Table} on {Server}.")]
    public static partial void SchemaCreated(ILogger logger, string store, string table, string server, int version);

    [LoggerMessage(EventId = 6502, Level = LogLevel.Information,
        Message = "PostgreSQL store '{Store}' migrated {Table} on {Server} from schema version {FromVersion} to {ToVersion}.")]
    public static partial void SchemaMigrated(ILogger logger, string store, string table, string server, int fromVersion, int toVersion);

    [LoggerMessage(EventId = 6503, Level = LogLevel.Warning,
        Message = "PostgreSQL store '{Store}': the server {Server} could not be used ({SqlState}); the operation failed with StoreUnavailableException.")]
    public static partial void Unavailable(ILogger logger, string store, string server, string sqlState, Exception exception);

    [LoggerMessage(EventId = 6504, Level = LogLevel.Information,
        Message = "PostgreSQL store '{Store}' retried a transaction on {Server} after a serialization failure or deadlock ({SqlState}), attempt {Attempt}.")]
    public static partial void Retried(ILogger logger, string store, string server, string sqlState, int attempt);

    [LoggerMessage(EventId = 6505, Level = LogLevel.Information,
        Message = "PostgreSQL store '{Store}' purged {Count} expired entries in the background in {ElapsedMilliseconds:0.#} ms.")]
    public static partial void BackgroundPurge(ILogger logger, string store, long count, double elapsedMilliseconds);

    [LoggerMessage(EventId = 6506, Level = LogLevel.Warning,
        Message = "PostgreSQL store '{Store}' could not purge expired entries in the background; it tries again at the next interval.")]
    public static partial void BackgroundPurgeFailed(ILogger logger, string store, Exception exception);

    [LoggerMessage(EventId = 6507, Level = LogLevel.Warning,
        Message = "PostgreSQL store '{Store}' lost its LISTEN connection to {Server}; change-feed consumers poll until it is back.")]
    public static partial void ListenerLost(ILogger logger, string store, string server, Exception exception);
}
