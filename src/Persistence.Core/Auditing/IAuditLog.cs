namespace Persistence;

/// <summary>
/// The audit log of a store: one record per write made through its <see cref="AuditingStore"/>, kept in a collection
/// of the same store. Reach it with <see cref="StoreAuditLogs.GetAuditLog(IStore)"/> or resolve it from the services.
/// </summary>
public interface IAuditLog
{
    /// <summary>Gets the collection that holds the audit records.</summary>
    string Collection { get; }

    /// <summary>Lists audit records, oldest first (records with the same timestamp in the order they were written by one call).</summary>
    /// <param name="collection">Only records of writes to this collection, or <see langword="null"/> for all.</param>
    /// <param name="key">Only records of writes to this key, or <see langword="null"/> for all.</param>
    /// <param name="from">Only records at or after this instant, or <see langword="null"/> for no lower bound.</param>
    /// <param name="to">Only records at or before this instant, or <see langword="null"/> for no upper bound.</param>
    /// <param name="cancellationToken">A token that cancels the enumeration.</param>
    /// <returns>The matching records.</returns>
    /// <exception cref="ArgumentException"><paramref name="collection"/> or <paramref name="key"/> is not a valid name.</exception>
    /// <exception cref="StoreCorruptedException">A record of the audit collection is not an audit record.</exception>
    IAsyncEnumerable<AuditRecord> QueryAsync(string? collection = null, string? key = null, DateTimeOffset? from = null, DateTimeOffset? to = null, CancellationToken cancellationToken = default);
}

/// <summary>What an audit record says was done.</summary>
public enum AuditOperation
{
    /// <summary>A record was written (<see cref="IStore.PutAsync"/> or a put of a batch).</summary>
    Put,

    /// <summary>A record was deleted (<see cref="IStore.DeleteAsync"/> or a delete of a batch).</summary>
    Delete,

    /// <summary>Entries were imported into a collection (<see cref="IStore.ImportAsync"/>, restore, migration).</summary>
    Import,
}

/// <summary>One audited write: who did what to which record, and when.</summary>
/// <param name="Id">The record's key in the audit collection: <c>{UTC ticks:D19}-{call id}-{index:D5}</c>, so keys sort by time.</param>
/// <param name="Timestamp">When the write was made (UTC, the audit log's clock).</param>
/// <param name="Operation">What was done.</param>
/// <param name="Collection">The collection written to.</param>
/// <param name="Key">The key written to; <see langword="null"/> for an import.</param>
/// <param name="OldVersion">The version before the write (0: the key did not exist); <see langword="null"/> for an import.</param>
/// <param name="NewVersion">The version after the write (0 after a delete); <see langword="null"/> for an import.</param>
/// <param name="Actor">Who made the write, from the <see cref="IAuditActorAccessor"/>; <see langword="null"/> when unknown.</param>
/// <param name="BatchId">The id shared by the records of one <see cref="IStore.CommitAsync"/> or <see cref="IStore.ImportAsync"/> call; <see langword="null"/> for a single put or delete.</param>
/// <param name="PayloadLength">The length in bytes of a put's payload; <see langword="null"/> otherwise.</param>
/// <param name="PayloadSha256">The SHA-256 of a put's payload (lower-case hex) when <see cref="AuditLogOptions.HashPayloads"/> is set; <see langword="null"/> otherwise.</param>
/// <param name="EntryCount">How many entries an import brought to <paramref name="Collection"/>; <see langword="null"/> otherwise.</param>
public sealed record AuditRecord(
    string Id,
    DateTimeOffset Timestamp,
    AuditOperation Operation,
    string Collection,
    string? Key,
    long? OldVersion,
    long? NewVersion,
    string? Actor,
    string? BatchId,
    int? PayloadLength,
    string? PayloadSha256,
    int? EntryCount);

/// <summary>Finds the audit log of a store, through the decorators <c>AddPersistence()</c> puts around it.</summary>
public static class StoreAuditLogs
{
    /// <summary>Gets the audit log of <paramref name="store"/> or of the first store it wraps that keeps one.</summary>
    /// <param name="store">The store.</param>
    /// <returns>The audit log, or <see langword="null"/> when the store is not audited.</returns>
    public static IAuditLog? GetAuditLog(this IStore store)
    {
        ArgumentNullException.ThrowIfNull(store);
        for (IStore? current = store; current is not null; current = (current as IStoreDecorator)?.InnerStore)
        {
            if (current is IAuditLog log)
            {
                return log;
            }
        }

        return null;
    }
}
