using System.Buffers;

namespace Persistence;

/// <summary>
/// Collects typed puts, deletes and checks on one store and applies them atomically on <see cref="CommitAsync"/>.
/// Disposing an uncommitted transaction discards it; nothing is written before the commit.
/// </summary>
public sealed class StoreTransaction : IAsyncDisposable
{
    private readonly IStore _store;
    private WriteBatch? _batch = new();

    internal StoreTransaction(IStore store) => _store = store;

    /// <summary>Gets whether the transaction was committed.</summary>
    public bool IsCommitted { get; private set; }

    /// <summary>Adds a write of a value serialized with the store's serializer.</summary>
    /// <typeparam name="T">The value type.</typeparam>
    /// <param name="collection">The collection name.</param>
    /// <param name="key">The key.</param>
    /// <param name="value">The value.</param>
    /// <param name="options">The expected version and time-to-live, or <see langword="null"/>.</param>
    /// <returns>This transaction.</returns>
    /// <exception cref="InvalidOperationException">The transaction was committed or disposed.</exception>
    public StoreTransaction Put<T>(string collection, string key, T value, PutOptions? options = null)
    {
        var batch = Pending();
        var buffer = new ArrayBufferWriter<byte>(256);
        _store.Serializer.Serialize(buffer, value);
        batch.Put(collection, key, buffer.WrittenMemory, options);
        return this;
    }

    /// <summary>Adds a delete.</summary>
    /// <param name="collection">The collection name.</param>
    /// <param name="key">The key.</param>
    /// <param name="expectedVersion">The version the record must have, or <see langword="null"/> for any.</param>
    /// <returns>This transaction.</returns>
    /// <exception cref="InvalidOperationException">The transaction was committed or disposed.</exception>
    public StoreTransaction Delete(string collection, string key, long? expectedVersion = null)
    {
        Pending().Delete(collection, key, expectedVersion);
        return this;
    }

    /// <summary>Adds a check that a record is at a version (0: does not exist) when the transaction commits.</summary>
    /// <param name="collection">The collection name.</param>
    /// <param name="key">The key.</param>
    /// <param name="expectedVersion">The expected version.</param>
    /// <returns>This transaction.</returns>
    /// <exception cref="InvalidOperationException">The transaction was committed or disposed.</exception>
    public StoreTransaction Check(string collection, string key, long expectedVersion)
    {
        Pending().Check(collection, key, expectedVersion);
        return this;
    }

    /// <summary>Applies every operation atomically.</summary>
    /// <param name="cancellationToken">A token that cancels the commit before it is applied.</param>
    /// <returns>One result per operation, as <see cref="IStore.CommitAsync"/> gives.</returns>
    /// <exception cref="ConcurrencyConflictException">A version check failed; nothing was written and the transaction can be discarded.</exception>
    /// <exception cref="InvalidOperationException">The transaction was committed or disposed.</exception>
    public async ValueTask<IReadOnlyList<long>> CommitAsync(CancellationToken cancellationToken = default)
    {
        var batch = Pending();
        var results = await _store.CommitAsync(batch, cancellationToken).ConfigureAwait(false);
        IsCommitted = true;
        _batch = null;
        return results;
    }

    /// <summary>Discards the transaction if it was not committed.</summary>
    /// <returns>A completed task.</returns>
    public ValueTask DisposeAsync()
    {
        _batch = null;
        return ValueTask.CompletedTask;
    }

    private WriteBatch Pending()
        => _batch ?? throw new InvalidOperationException(IsCommitted ? "The transaction was already committed." : "The transaction was disposed.");
}
