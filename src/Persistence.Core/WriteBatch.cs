namespace Persistence;

/// <summary>The kind of one operation in a <see cref="WriteBatch"/>.</summary>
public enum BatchOperationKind
{
    /// <summary>Write a record.</summary>
    Put,

    /// <summary>Delete a record.</summary>
    Delete,

    /// <summary>Assert a record's version without writing it.</summary>
    Check,
}

/// <summary>One operation of a <see cref="WriteBatch"/>.</summary>
/// <param name="Kind">What the operation does.</param>
/// <param name="Collection">The collection name.</param>
/// <param name="Key">The key.</param>
/// <param name="Payload">The payload of a put; empty otherwise.</param>
/// <param name="ExpectedVersion">The version the record must have (0: must not exist), or <see langword="null"/> for any.</param>
/// <param name="TimeToLive">The time-to-live of a put, or <see langword="null"/> for none.</param>
public sealed record BatchOperation(
    BatchOperationKind Kind,
    string Collection,
    string Key,
    ReadOnlyMemory<byte> Payload,
    long? ExpectedVersion,
    TimeSpan? TimeToLive);

/// <summary>
/// A list of puts, deletes and version checks, across collections, that <see cref="IStore.CommitAsync"/> applies all
/// together or not at all.
/// </summary>
/// <remarks>
/// A key may appear several times: its operations apply in order, each expected version checked against the state the
/// earlier operations left (a put on version v makes v + 1, a delete forgets the key so a later put makes version 1,
/// a check asserts the current state). Names and options are validated as operations are added.
/// </remarks>
public sealed class WriteBatch
{
    private readonly BatchOperationList _operations = new();

    // The keys already in the batch, per collection, to learn whether a key repeats: most batches name one collection, so
    // the last one's set is kept at hand, and a set of plain strings hashes faster than one of (collection, key) pairs.
    private readonly Dictionary<string, HashSet<string>> _keysByCollection = new(StringComparer.Ordinal);
    private string? _lastCollection;
    private HashSet<string>? _lastKeys;

    /// <summary>Gets the operations in the order they were added.</summary>
    public IReadOnlyList<BatchOperation> Operations => _operations;

    /// <summary>Gets the number of operations.</summary>
    public int Count => _operations.Count;

    /// <summary>Adds a write of one record.</summary>
    /// <param name="collection">The collection name.</param>
    /// <param name="key">The key.</param>
    /// <param name="payload">The payload bytes (copied when the batch is committed by the store, not here).</param>
    /// <param name="options">The expected version and time-to-live, or <see langword="null"/>.</param>
    /// <returns>This batch.</returns>
    /// <exception cref="ArgumentException">A name is invalid.</exception>
    public WriteBatch Put(string collection, string key, ReadOnlyMemory<byte> payload, PutOptions? options = null)
    {
        options?.Validate();
        return Add(BatchOperationKind.Put, collection, key, payload, options?.ExpectedVersion, options?.TimeToLive);
    }

    /// <summary>Adds a delete of one record.</summary>
    /// <param name="collection">The collection name.</param>
    /// <param name="key">The key.</param>
    /// <param name="expectedVersion">The version the record must have, or <see langword="null"/> for any.</param>
    /// <returns>This batch.</returns>
    /// <exception cref="ArgumentException">A name is invalid.</exception>
    public WriteBatch Delete(string collection, string key, long? expectedVersion = null)
    {
        ValidateExpected(expectedVersion);
        return Add(BatchOperationKind.Delete, collection, key, ReadOnlyMemory<byte>.Empty, expectedVersion, null);
    }

    /// <summary>Adds an assertion that a record is at a version (0: does not exist), without writing it.</summary>
    /// <param name="collection">The collection name.</param>
    /// <param name="key">The key.</param>
    /// <param name="expectedVersion">The version the record must have.</param>
    /// <returns>This batch.</returns>
    /// <exception cref="ArgumentException">A name is invalid.</exception>
    public WriteBatch Check(string collection, string key, long expectedVersion)
    {
        ValidateExpected(expectedVersion);
        return Add(BatchOperationKind.Check, collection, key, ReadOnlyMemory<byte>.Empty, expectedVersion, null);
    }

    private WriteBatch Add(BatchOperationKind kind, string collection, string key, ReadOnlyMemory<byte> payload, long? expectedVersion, TimeSpan? timeToLive)
    {
        StoreNames.ValidateCollection(collection);
        StoreNames.ValidateKey(key);
        if (!KeysOf(collection).Add(key))
        {
            _operations.RepeatsKeys = true;
        }

        _operations.Add(new BatchOperation(kind, collection, key, payload, expectedVersion, timeToLive));
        return this;
    }

    private HashSet<string> KeysOf(string collection)
    {
        if (_lastKeys is null || !string.Equals(collection, _lastCollection, StringComparison.Ordinal))
        {
            if (!_keysByCollection.TryGetValue(collection, out _lastKeys))
            {
                _keysByCollection.Add(collection, _lastKeys = new HashSet<string>(StringComparer.Ordinal));
            }

            _lastCollection = collection;
        }

        return _lastKeys;
    }

    private static void ValidateExpected(long? expectedVersion)
    {
        if (expectedVersion is < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(expectedVersion), expectedVersion, "An expected version is 0 (must not exist) or positive.");
        }
    }
}

/// <summary>A batch's operations, with whether some key has more than one, so a store keeps its one-operation-per-key path
/// without looking.</summary>
internal sealed class BatchOperationList : List<BatchOperation>
{
    /// <summary>Gets or sets whether some (collection, key) has more than one operation.</summary>
    public bool RepeatsKeys { get; set; }
}
