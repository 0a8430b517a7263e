using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Persistence.Stores.Redis;

/// <summary>
/// The log messages of the Redis store (event ids 6400–6499), category <c>Persistence.Stores.Redis.RedisStore</c>. They
/// name end points, never the configuration string (it may hold a password).
/// </summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 6401, Level = LogLevel.Warning,
        Message = "Redis store '{Store}' lost its {ConnectionType} connection to {EndPoint} ({FailureType}); StackExchange.Redis reconnects in the background.")]
    public static partial void ConnectionFailed(ILogger logger, string store, ConnectionType connectionType, string endPoint, ConnectionFailureType failureType);

    [LoggerMessage(EventId = 6402, Level = LogLevel.Information,
        Message = "Redis store '{Store}' restored its {ConnectionType} connection to {EndPoint}.")]
    public static partial void ConnectionRestored(ILogger logger, string store, ConnectionType connectionType, string endPoint);

    [LoggerMessage(EventId = 6403, Level = LogLevel.Information,
        Message = "Redis store '{Store}': the server did not have the script '{Script}' (NOSCRIPT: first use on this server, or after a restart, fail-over or SCRIPT FLUSH); it was sent again, which loads it.")]
    public static partial void ScriptReloaded(ILogger logger, string store, string script);
}
