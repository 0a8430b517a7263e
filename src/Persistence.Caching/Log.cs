using Microsoft.Extensions.Logging;

namespace Persistence.Caching;

/// <summary>Source-generated log messages of Persistence.Caching (event ids 6700–6799).</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 6701, Level = LogLevel.Warning,
        Message = "The cache of store '{Store}' lost the store's change feed; it cleared itself and tries again in {RetryMilliseconds} ms. Until then a cached record is served for at most MaxStaleness ({MaxStaleness}; empty for no bound).")]
    public static partial void ChangeFeedFailed(ILogger logger, Exception exception, string store, double retryMilliseconds, TimeSpan? maxStaleness);

    [LoggerMessage(EventId = 6702, Level = LogLevel.Warning,
        Message = "The cache of store '{Store}' missed changes: the change feed no longer keeps those after {Requested} (trimmed through {TrimmedThrough}). It cleared itself and follows the feed from the store's current position.")]
    public static partial void ChangeFeedGap(ILogger logger, Exception exception, string store, ChangeFeedPosition requested, ChangeFeedPosition trimmedThrough);

    [LoggerMessage(EventId = 6703, Level = LogLevel.Information,
        Message = "The cache of store '{Store}' follows the store's change feed again after {Failures} failed attempts, from position {Position}.")]
    public static partial void ChangeFeedResumed(ILogger logger, string store, int failures, ChangeFeedPosition position);

    [LoggerMessage(EventId = 6704, Level = LogLevel.Information,
        Message = "The cache of store '{Store}' stopped following the change feed: the store was disposed.")]
    public static partial void ChangeFeedEnded(ILogger logger, Exception exception, string store);
}
