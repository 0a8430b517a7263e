using Microsoft.Extensions.Logging;

namespace Persistence;

/// <summary>Source-generated log messages of Persistence.Core (this file: the state and config managers, event ids 600–609).</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 600, Level = LogLevel.Warning,
        Message = "Gave up writing '{Collection}/{Key}' in store '{Store}' after {Attempts} attempts: every attempt lost a concurrency conflict to another writer.")]
    public static partial void ConflictRetriesExhausted(ILogger logger, string store, string collection, string key, int attempts);

    [LoggerMessage(EventId = 601, Level = LogLevel.Warning,
        Message = "A change callback for '{Name}' in collection '{Collection}' threw; other subscribers were still notified.")]
    public static partial void ChangeCallbackFailed(ILogger logger, Exception exception, string collection, string name);

    [LoggerMessage(EventId = 602, Level = LogLevel.Warning,
        Message = "The config and state managers of store '{Store}' lost the change feed of collection '{Collection}'; they try again in {RetryMilliseconds} ms. Changes by other processes are reported once the feed is back (after a gap, as the current state of each watched config or state).")]
    public static partial void ManagerFeedFailed(ILogger logger, Exception exception, string store, string collection, double retryMilliseconds);
}
