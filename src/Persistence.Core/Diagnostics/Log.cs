using Microsoft.Extensions.Logging;

namespace Persistence.Diagnostics;

/// <summary>The log messages of the store decorators (event ids 6100–6199).</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 6101, Level = LogLevel.Warning,
        Message = "Store '{Store}' skipped a corrupted entry while reading collection '{Collection}' (key '{Key}', path '{Path}'): {Reason}")]
    public static partial void CorruptedEntrySkipped(ILogger logger, string store, string collection, string? key, string? path, string reason);

    [LoggerMessage(EventId = 6102, Level = LogLevel.Information,
        Message = "Store '{Store}' purged {Count} expired entries in {ElapsedMilliseconds:0.#} ms.")]
    public static partial void ExpiredEntriesPurged(ILogger logger, string store, long count, double elapsedMilliseconds);

    [LoggerMessage(EventId = 6150, Level = LogLevel.Warning,
        Message = "Store '{Store}' cannot commit audit collection '{AuditCollection}' in the same batch as the audited writes ({Reason}); their audit records are written right after them, not atomically.")]
    public static partial void AuditNotAtomic(ILogger logger, string store, string auditCollection, string reason);
}
