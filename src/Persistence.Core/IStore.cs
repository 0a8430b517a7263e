namespace Persistence;

/// <summary>
/// A key-value store of versioned records grouped in collections. Every implementation keeps the same semantics:
/// versions and optimistic concurrency, time-to-live, atomic batches, key order and queries.
/// </summary>
/// <remarks>Stores are thread-safe and meant to be registered as singletons.</remarks>
public interface IStore : IAsyncDisposable
{
    /// <summary>Gets the store's name (the default store is named <c>default</c>).</summary>
    string Name { get; }

    /// <summary>Gets the serializer that payloads of this store are written with.</summary>
    ISerializer Serializer { get; }

    /// <summary>Gets what this store can do beyond the common contract.</summary>
    StoreCapabilities Capabilities { get; }

    /// <summary>Reads one record.</summary>
    /// <param name="collection">The collection name.</param>
    /// <param name="key">The key.</param>
    /// <param name="cancellationToken">A token that cancels the operation.</param>
    /// <returns>The record, or <see langword="null"/> when it does not exist or has expired.</returns>
    /// <exception cref="ArgumentException">The collection name or key is invalid.</exception>
    /// <exception cref="StoreCorruptedException">The record cannot be read.</exception>
    ValueTask<StoreEntry?> GetAsync(string collection, string key, CancellationToken cancellationToken = default);

    /// <summary>Tells whether a live record exists, without reading its payload where the store can.</summary>
    /// <param name="collection">The collection name.</param>
    /// <param name="key">The key.</param>
    /// <param name="cancellationToken">A token that cancels the operation.</param>
    /// <returns><see langword="true"/> when the record exists and has not expired.</returns>
    /// <exception cref="ArgumentException">The collection name or key is invalid.</exception>
    ValueTask<bool> ExistsAsync(string collection, string key, CancellationToken cancellationToken = default);

    /// <summary>Reads several records of one collection.</summary>
    /// <param name="collection">The collection name.</param>
    /// <param name="keys">The keys.</param>
    /// <param name="cancellationToken">A token that cancels the operation.</param>
    /// <returns>One element per key, in the same order: the record, or <see langword="null"/> when it does not exist.</returns>
    /// <exception cref="ArgumentException">The collection name or a key is invalid.</exception>
    ValueTask<IReadOnlyList<StoreEntry?>> GetManyAsync(string collection, IReadOnlyList<string> keys, CancellationToken cancellationToken = default);

    /// <summary>Writes one record.</summary>
    /// <param name="collection">The collection name.</param>
    /// <param name="key">The key.</param>
    /// <param name="payload">The payload bytes.</param>
    /// <param name="options">The expected version and time-to-live, or <see langword="null"/> for none.</param>
    /// <param name="cancellationToken">A token that cancels the operation.</param>
    /// <returns>The record's new version.</returns>
    /// <exception cref="ArgumentException">The collection name or key is invalid.</exception>
    /// <exception cref="ConcurrencyConflictException">The record's version differs from <see cref="PutOptions.ExpectedVersion"/>; nothing was written.</exception>
    ValueTask<long> PutAsync(string collection, string key, ReadOnlyMemory<byte> payload, PutOptions? options = null, CancellationToken cancellationToken = default);

    /// <summary>Deletes one record.</summary>
    /// <param name="collection">The collection name.</param>
    /// <param name="key">The key.</param>
    /// <param name="expectedVersion">The version the record must have, or <see langword="null"/> to delete whatever is stored.</param>
    /// <param name="cancellationToken">A token that cancels the operation.</param>
    /// <returns><see langword="true"/> when a record was deleted; <see langword="false"/> when none existed.</returns>
    /// <exception cref="ConcurrencyConflictException">The record's version differs from <paramref name="expectedVersion"/>; nothing was deleted.</exception>
    ValueTask<bool> DeleteAsync(string collection, string key, long? expectedVersion = null, CancellationToken cancellationToken = default);

    /// <summary>Applies every operation of a batch, across collections, or none of them.</summary>
    /// <param name="batch">The operations.</param>
    /// <param name="cancellationToken">A token that cancels the operation before it is applied.</param>
    /// <returns>
    /// One element per operation, in order: the new version for a put, the deleted version (0 when nothing existed)
    /// for a delete, the checked version for a check.
    /// </returns>
    /// <exception cref="ConcurrencyConflictException">An expected version did not match; nothing was written.</exception>
    /// <exception cref="NotSupportedException">The store cannot apply this batch atomically; nothing was written.</exception>
    ValueTask<IReadOnlyList<long>> CommitAsync(WriteBatch batch, CancellationToken cancellationToken = default);

    /// <summary>Lists the live records of a collection in ascending key order (Unicode code points).</summary>
    /// <param name="collection">The collection name.</param>
    /// <param name="options">Prefix, start-after, limit and corrupted-entry handling, or <see langword="null"/> for all.</param>
    /// <param name="cancellationToken">A token that cancels the enumeration.</param>
    /// <returns>The records.</returns>
    IAsyncEnumerable<StoreEntry> ScanAsync(string collection, ScanOptions? options = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Lists the keys of the live records of a collection in ascending key order (Unicode code points), with the same
    /// bounds as <see cref="ScanAsync"/>, without reading payloads where the store can.
    /// </summary>
    /// <param name="collection">The collection name.</param>
    /// <param name="options">Prefix, start-after and limit, or <see langword="null"/> for all.</param>
    /// <param name="cancellationToken">A token that cancels the enumeration.</param>
    /// <returns>The keys.</returns>
    /// <exception cref="ArgumentException">The collection name is invalid.</exception>
    IAsyncEnumerable<string> ListKeysAsync(string collection, ScanOptions? options = null, CancellationToken cancellationToken = default);

    /// <summary>Returns the live records of a collection whose documents match a query, in the query's order.</summary>
    /// <param name="collection">The collection name.</param>
    /// <param name="query">The filters, order, skip and take.</param>
    /// <param name="cancellationToken">A token that cancels the enumeration.</param>
    /// <returns>The matching records.</returns>
    IAsyncEnumerable<StoreEntry> QueryAsync(string collection, Query query, CancellationToken cancellationToken = default);

    /// <summary>Counts the live records of a collection.</summary>
    /// <param name="collection">The collection name.</param>
    /// <param name="cancellationToken">A token that cancels the operation.</param>
    /// <returns>The number of records that have not expired.</returns>
    ValueTask<long> CountAsync(string collection, CancellationToken cancellationToken = default);

    /// <summary>Lists the collections that hold at least one record, in ascending order.</summary>
    /// <param name="cancellationToken">A token that cancels the enumeration.</param>
    /// <returns>The collection names.</returns>
    IAsyncEnumerable<string> ListCollectionsAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Writes entries exactly as given, keeping their versions and timestamps (for restore and migration), in one
    /// atomic step where the store can.
    /// </summary>
    /// <param name="entries">The entries to write.</param>
    /// <param name="mode">What to do with keys that already exist.</param>
    /// <param name="cancellationToken">A token that cancels the operation.</param>
    /// <returns>How many entries were imported and skipped.</returns>
    /// <exception cref="ConcurrencyConflictException">A key exists and <paramref name="mode"/> is <see cref="ImportMode.FailOnConflict"/>; nothing was written.</exception>
    ValueTask<ImportResult> ImportAsync(IReadOnlyList<StoreEntry> entries, ImportMode mode, CancellationToken cancellationToken = default);
}
