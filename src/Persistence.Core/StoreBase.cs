using System.Runtime.CompilerServices;

namespace Persistence;

/// <summary>
/// A base for stores: validates every argument once, enforces disposal and cancellation, and gives default
/// implementations (GetMany as a loop, Query as scan plus <see cref="QueryEvaluator"/>, Count as a scan) that a
/// store overrides where its engine does better.
/// </summary>
public abstract class StoreBase : IStore
{
    private int _disposed;

    /// <summary>Initializes a new instance of the <see cref="StoreBase"/> class.</summary>
    /// <param name="name">The store's name.</param>
    /// <param name="serializer">The serializer of the store's payloads.</param>
    /// <param name="timeProvider">The clock for timestamps and expiry; <see langword="null"/> for <see cref="TimeProvider.System"/>.</param>
    /// <exception cref="ArgumentException"><paramref name="name"/> is empty.</exception>
    protected StoreBase(string name, ISerializer serializer, TimeProvider? timeProvider)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(serializer);
        Name = name;
        Serializer = serializer;
        TimeProvider = timeProvider ?? TimeProvider.System;
    }

    /// <summary>
    /// Gets the serializer for a store given none: <see cref="SystemTextJsonSerializer.Default"/>. In trimmed and native
    /// AOT apps it resolves no type by reflection (see its remarks), so typed access there needs a configured serializer.
    /// </summary>
    protected static ISerializer DefaultSerializer => SystemTextJsonSerializer.Shared;

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public ISerializer Serializer { get; }

    /// <inheritdoc />
    public abstract StoreCapabilities Capabilities { get; }

    /// <summary>Gets the clock for timestamps and expiry.</summary>
    protected TimeProvider TimeProvider { get; }

    /// <summary>Gets the store's clock for the helpers built on the store (the managers' and the configuration provider's feed retries).</summary>
    internal TimeProvider Clock => TimeProvider;

    /// <summary>Gets whether the store has been disposed.</summary>
    protected bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    /// <inheritdoc />
    public ValueTask<StoreEntry?> GetAsync(string collection, string key, CancellationToken cancellationToken = default)
    {
        ValidateName(collection, key);
        BeginOperation(cancellationToken);
        return GetCoreAsync(collection, key, cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask<bool> ExistsAsync(string collection, string key, CancellationToken cancellationToken = default)
    {
        ValidateName(collection, key);
        BeginOperation(cancellationToken);
        return ExistsCoreAsync(collection, key, cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<StoreEntry?>> GetManyAsync(string collection, IReadOnlyList<string> keys, CancellationToken cancellationToken = default)
    {
        StoreNames.ValidateCollection(collection);
        ArgumentNullException.ThrowIfNull(keys);
        foreach (var key in keys)
        {
            StoreNames.ValidateKey(key, nameof(keys));
        }

        BeginOperation(cancellationToken);
        return keys.Count == 0 ? new ValueTask<IReadOnlyList<StoreEntry?>>(Array.Empty<StoreEntry?>()) : GetManyCoreAsync(collection, keys, cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask<long> PutAsync(string collection, string key, ReadOnlyMemory<byte> payload, PutOptions? options = null, CancellationToken cancellationToken = default)
    {
        ValidateName(collection, key);
        options?.Validate();
        BeginOperation(cancellationToken);
        return PutCoreAsync(collection, key, payload, options ?? DefaultPutOptions, cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask<bool> DeleteAsync(string collection, string key, long? expectedVersion = null, CancellationToken cancellationToken = default)
    {
        ValidateName(collection, key);
        if (expectedVersion is < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(expectedVersion), expectedVersion, "An expected version is 0 (must not exist) or positive.");
        }

        BeginOperation(cancellationToken);
        return DeleteCoreAsync(collection, key, expectedVersion, cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<long>> CommitAsync(WriteBatch batch, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(batch);
        BeginOperation(cancellationToken);
        return batch.Count == 0 ? new ValueTask<IReadOnlyList<long>>(Array.Empty<long>()) : CommitCoreAsync(batch.Operations, cancellationToken);
    }

    /// <inheritdoc />
    public IAsyncEnumerable<StoreEntry> ScanAsync(string collection, ScanOptions? options = null, CancellationToken cancellationToken = default)
    {
        StoreNames.ValidateCollection(collection);
        options?.Validate();
        BeginOperation(cancellationToken);
        return ScanCoreAsync(collection, options ?? DefaultScanOptions, cancellationToken);
    }

    /// <inheritdoc />
    public IAsyncEnumerable<string> ListKeysAsync(string collection, ScanOptions? options = null, CancellationToken cancellationToken = default)
    {
        StoreNames.ValidateCollection(collection);
        options?.Validate();
        BeginOperation(cancellationToken);
        return ListKeysCoreAsync(collection, options ?? DefaultScanOptions, cancellationToken);
    }

    /// <inheritdoc />
    public IAsyncEnumerable<StoreEntry> QueryAsync(string collection, Query query, CancellationToken cancellationToken = default)
    {
        StoreNames.ValidateCollection(collection);
        ArgumentNullException.ThrowIfNull(query);
        BeginOperation(cancellationToken);
        return QueryCoreAsync(collection, query, cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask<long> CountAsync(string collection, CancellationToken cancellationToken = default)
    {
        StoreNames.ValidateCollection(collection);
        BeginOperation(cancellationToken);
        return CountCoreAsync(collection, cancellationToken);
    }

    /// <inheritdoc />
    public IAsyncEnumerable<string> ListCollectionsAsync(CancellationToken cancellationToken = default)
    {
        BeginOperation(cancellationToken);
        return ListCollectionsCoreAsync(cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask<ImportResult> ImportAsync(IReadOnlyList<StoreEntry> entries, ImportMode mode, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entries);
        if (!Enum.IsDefined(mode))
        {
            throw new ArgumentOutOfRangeException(nameof(mode), mode, "Unknown import mode.");
        }

        // Entries in strictly ascending key order (a backup, an export, a migration page) cannot repeat a key, which takes one
        // comparison with the previous entry; from the first entry out of order on, a set of every key seen finds repeats.
        HashSet<(string, string)>? seen = null;
        for (var i = 0; i < entries.Count; i++)
        {
            var entry = entries[i];
            ArgumentNullException.ThrowIfNull(entry, nameof(entries));
            StoreNames.ValidateCollection(entry.Collection, nameof(entries));
            StoreNames.ValidateKey(entry.Key, nameof(entries));
            if (entry.Version < 1)
            {
                throw new ArgumentException($"The imported entry '{entry.Collection}/{entry.Key}' has version {entry.Version}; versions start at 1.", nameof(entries));
            }

            if (seen is null)
            {
                if (i == 0 || IsAscending(entries[i - 1], entry))
                {
                    continue;
                }

                seen = new HashSet<(string, string)>(entries.Count);
                for (var j = 0; j < i; j++)
                {
                    seen.Add((entries[j].Collection, entries[j].Key));
                }
            }

            if (!seen.Add((entry.Collection, entry.Key)))
            {
                throw new ArgumentException($"The import holds '{entry.Collection}/{entry.Key}' more than once.", nameof(entries));
            }
        }

        BeginOperation(cancellationToken);
        return entries.Count == 0 ? new ValueTask<ImportResult>(new ImportResult(0, 0)) : ImportCoreAsync(entries, mode, cancellationToken);
    }

    private static bool IsAscending(StoreEntry previous, StoreEntry next)
    {
        var collections = string.CompareOrdinal(previous.Collection, next.Collection);
        return collections < 0 || (collections == 0 && string.CompareOrdinal(previous.Key, next.Key) < 0);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            await DisposeCoreAsync().ConfigureAwait(false);
        }

        GC.SuppressFinalize(this);
    }

    /// <summary>Reads one live record; arguments are already validated.</summary>
    /// <param name="collection">The collection name.</param>
    /// <param name="key">The key.</param>
    /// <param name="cancellationToken">A token that cancels the operation.</param>
    /// <returns>The record, or <see langword="null"/>.</returns>
    protected abstract ValueTask<StoreEntry?> GetCoreAsync(string collection, string key, CancellationToken cancellationToken);

    /// <summary>Tells whether a live record exists; the default reads it. Arguments are already validated.</summary>
    /// <param name="collection">The collection name.</param>
    /// <param name="key">The key.</param>
    /// <param name="cancellationToken">A token that cancels the operation.</param>
    /// <returns>Whether the record exists and has not expired.</returns>
    protected virtual async ValueTask<bool> ExistsCoreAsync(string collection, string key, CancellationToken cancellationToken)
        => await GetCoreAsync(collection, key, cancellationToken).ConfigureAwait(false) is not null;

    /// <summary>Reads several records; the default reads them one by one.</summary>
    /// <param name="collection">The collection name.</param>
    /// <param name="keys">The keys (at least one).</param>
    /// <param name="cancellationToken">A token that cancels the operation.</param>
    /// <returns>One element per key.</returns>
    protected virtual async ValueTask<IReadOnlyList<StoreEntry?>> GetManyCoreAsync(string collection, IReadOnlyList<string> keys, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var results = new StoreEntry?[keys.Count];
        for (var i = 0; i < keys.Count; i++)
        {
            results[i] = await GetCoreAsync(collection, keys[i], cancellationToken).ConfigureAwait(false);
        }

        return results;
    }

    /// <summary>Writes one record; arguments are already validated.</summary>
    /// <param name="collection">The collection name.</param>
    /// <param name="key">The key.</param>
    /// <param name="payload">The payload; copy it if it is kept.</param>
    /// <param name="options">The expected version and time-to-live.</param>
    /// <param name="cancellationToken">A token that cancels the operation.</param>
    /// <returns>The new version.</returns>
    protected abstract ValueTask<long> PutCoreAsync(string collection, string key, ReadOnlyMemory<byte> payload, PutOptions options, CancellationToken cancellationToken);

    /// <summary>Deletes one record; arguments are already validated.</summary>
    /// <param name="collection">The collection name.</param>
    /// <param name="key">The key.</param>
    /// <param name="expectedVersion">The expected version, or <see langword="null"/>.</param>
    /// <param name="cancellationToken">A token that cancels the operation.</param>
    /// <returns>Whether a record was deleted.</returns>
    protected abstract ValueTask<bool> DeleteCoreAsync(string collection, string key, long? expectedVersion, CancellationToken cancellationToken);

    /// <summary>Applies a non-empty, validated batch atomically.</summary>
    /// <param name="operations">
    /// The operations in order. A key may have several, applied in order: <see cref="BatchSequence.Of"/> tells the store
    /// so and resolves them.
    /// </param>
    /// <param name="cancellationToken">A token that cancels the operation.</param>
    /// <returns>One result per operation (see <see cref="IStore.CommitAsync"/>).</returns>
    protected abstract ValueTask<IReadOnlyList<long>> CommitCoreAsync(IReadOnlyList<BatchOperation> operations, CancellationToken cancellationToken);

    /// <summary>Lists live records in key order; arguments are already validated.</summary>
    /// <param name="collection">The collection name.</param>
    /// <param name="options">The scan bounds.</param>
    /// <param name="cancellationToken">A token that cancels the enumeration.</param>
    /// <returns>The records.</returns>
    protected abstract IAsyncEnumerable<StoreEntry> ScanCoreAsync(string collection, ScanOptions options, CancellationToken cancellationToken);

    /// <summary>Lists the keys of live records in key order; the default scans the records. Arguments are already validated.</summary>
    /// <param name="collection">The collection name.</param>
    /// <param name="options">The scan bounds.</param>
    /// <param name="cancellationToken">A token that cancels the enumeration.</param>
    /// <returns>The keys.</returns>
    protected virtual async IAsyncEnumerable<string> ListKeysCoreAsync(string collection, ScanOptions options, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var entry in ScanCoreAsync(collection, options, cancellationToken).ConfigureAwait(false))
        {
            yield return entry.Key;
        }
    }

    /// <summary>Runs a query; the default scans the collection and evaluates the query in memory.</summary>
    /// <param name="collection">The collection name.</param>
    /// <param name="query">The query.</param>
    /// <param name="cancellationToken">A token that cancels the enumeration.</param>
    /// <returns>The matching records in query order.</returns>
    protected virtual IAsyncEnumerable<StoreEntry> QueryCoreAsync(string collection, Query query, CancellationToken cancellationToken)
        => QueryEvaluator.EvaluateAsync(ScanCoreAsync(collection, DefaultScanOptions, cancellationToken), query, Serializer, cancellationToken);

    /// <summary>Counts live records; the default counts a scan.</summary>
    /// <param name="collection">The collection name.</param>
    /// <param name="cancellationToken">A token that cancels the operation.</param>
    /// <returns>The number of live records.</returns>
    protected virtual async ValueTask<long> CountCoreAsync(string collection, CancellationToken cancellationToken)
    {
        long count = 0;
        await foreach (var unused in ScanCoreAsync(collection, DefaultScanOptions, cancellationToken).ConfigureAwait(false))
        {
            count++;
        }

        return count;
    }

    /// <summary>Lists the collections that hold at least one live record, in ascending order.</summary>
    /// <param name="cancellationToken">A token that cancels the enumeration.</param>
    /// <returns>The names.</returns>
    protected abstract IAsyncEnumerable<string> ListCollectionsCoreAsync(CancellationToken cancellationToken);

    /// <summary>Writes validated entries as given, keeping versions and timestamps.</summary>
    /// <param name="entries">The entries (at least one, each key once).</param>
    /// <param name="mode">What to do with existing keys.</param>
    /// <param name="cancellationToken">A token that cancels the operation.</param>
    /// <returns>How many were imported and skipped.</returns>
    protected abstract ValueTask<ImportResult> ImportCoreAsync(IReadOnlyList<StoreEntry> entries, ImportMode mode, CancellationToken cancellationToken);

    /// <summary>Releases the store's resources; called once.</summary>
    /// <returns>A task that completes when resources are released.</returns>
    protected virtual ValueTask DisposeCoreAsync() => ValueTask.CompletedTask;

    /// <summary>Throws <see cref="ObjectDisposedException"/> when the store has been disposed.</summary>
    /// <exception cref="ObjectDisposedException">The store has been disposed.</exception>
    protected void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(IsDisposed, this);

    /// <summary>Throws <see cref="ConcurrencyConflictException"/> when an expected version does not match the actual one.</summary>
    /// <param name="collection">The collection name.</param>
    /// <param name="key">The key.</param>
    /// <param name="expectedVersion">The expected version (0: must not exist), or <see langword="null"/> for any.</param>
    /// <param name="actualVersion">The live version, or <see langword="null"/> when the record does not exist or has expired.</param>
    /// <exception cref="ConcurrencyConflictException">The versions differ.</exception>
    protected static void EnsureExpectedVersion(string collection, string key, long? expectedVersion, long? actualVersion)
    {
        if (expectedVersion is { } expected && expected != (actualVersion ?? 0))
        {
            throw new ConcurrencyConflictException(collection, key, expected, actualVersion);
        }
    }

    /// <summary>Computes when a record written now with a time-to-live expires.</summary>
    /// <param name="now">The write time.</param>
    /// <param name="timeToLive">The time-to-live, or <see langword="null"/>.</param>
    /// <returns>The expiry, or <see langword="null"/> for none.</returns>
    protected static DateTimeOffset? ExpiryOf(DateTimeOffset now, TimeSpan? timeToLive) => timeToLive is { } ttl ? now + ttl : null;

    private static readonly PutOptions DefaultPutOptions = new();
    private static readonly ScanOptions DefaultScanOptions = new();

    private static void ValidateName(string collection, string key)
    {
        StoreNames.ValidateCollection(collection);
        StoreNames.ValidateKey(key);
    }

    private void BeginOperation(CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        cancellationToken.ThrowIfCancellationRequested();
    }
}
