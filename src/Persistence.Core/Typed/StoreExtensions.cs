using System.Buffers;

namespace Persistence;

/// <summary>Typed helpers over the byte-level <see cref="IStore"/> contract.</summary>
public static class StoreExtensions
{
    /// <summary>How many times <see cref="IRepository{T}.UpdateAsync"/> tries before giving up, by default.</summary>
    public const int DefaultMaxUpdateAttempts = 16;

    /// <summary>Reads a record and deserializes its payload.</summary>
    /// <typeparam name="T">The value type.</typeparam>
    /// <param name="store">The store.</param>
    /// <param name="collection">The collection name.</param>
    /// <param name="key">The key.</param>
    /// <param name="cancellationToken">A token that cancels the operation.</param>
    /// <returns>The value, or <see langword="default"/> when the record does not exist.</returns>
    /// <exception cref="StoreCorruptedException">The payload cannot be read as <typeparamref name="T"/>.</exception>
    public static async ValueTask<T?> GetAsync<T>(this IStore store, string collection, string key, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        var entry = await store.GetAsync(collection, key, cancellationToken).ConfigureAwait(false);
        return entry is null ? default : store.Deserialize<T>(entry);
    }

    /// <summary>Serializes a value with the store's serializer and writes it.</summary>
    /// <typeparam name="T">The value type.</typeparam>
    /// <param name="store">The store.</param>
    /// <param name="collection">The collection name.</param>
    /// <param name="key">The key.</param>
    /// <param name="value">The value.</param>
    /// <param name="options">The expected version and time-to-live, or <see langword="null"/>.</param>
    /// <param name="cancellationToken">A token that cancels the operation.</param>
    /// <returns>The new version.</returns>
    /// <exception cref="ConcurrencyConflictException">The expected version did not match; nothing was written.</exception>
    public static async ValueTask<long> PutAsync<T>(this IStore store, string collection, string key, T value, PutOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        // Pooled: a store copies a payload it keeps, so the buffer is free again once the put returns.
        using var buffer = new PooledBufferWriter(1024);
        store.Serializer.Serialize(buffer, value);
        return await store.PutAsync(collection, key, buffer.WrittenMemory, options, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Gives typed access to one collection of the store.</summary>
    /// <typeparam name="T">The entity type.</typeparam>
    /// <param name="store">The store.</param>
    /// <param name="collection">The collection name.</param>
    /// <param name="keySelector">Gives an entity's key.</param>
    /// <param name="maxUpdateAttempts">How many times <see cref="IRepository{T}.UpdateAsync"/> tries before it throws.</param>
    /// <returns>The repository.</returns>
    /// <exception cref="ArgumentException"><paramref name="collection"/> is not a valid collection name.</exception>
    public static IRepository<T> Repository<T>(this IStore store, string collection, Func<T, string> keySelector, int maxUpdateAttempts = DefaultMaxUpdateAttempts)
    {
        ArgumentNullException.ThrowIfNull(store);
        StoreNames.ValidateCollection(collection);
        ArgumentNullException.ThrowIfNull(keySelector);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxUpdateAttempts, 1);
        return new Repository<T>(store, collection, keySelector, maxUpdateAttempts);
    }

    /// <summary>Starts a transaction: operations are collected and applied atomically by <see cref="StoreTransaction.CommitAsync"/>, or discarded.</summary>
    /// <param name="store">The store.</param>
    /// <returns>The transaction.</returns>
    /// <example>
    /// <code>
    /// await using var tx = store.BeginTransaction();
    /// tx.Put("accounts", "a", debited, new PutOptions { ExpectedVersion = 3 });
    /// tx.Put("accounts", "b", credited);
    /// await tx.CommitAsync();
    /// </code>
    /// </example>
    public static StoreTransaction BeginTransaction(this IStore store)
    {
        ArgumentNullException.ThrowIfNull(store);
        return new StoreTransaction(store);
    }

    /// <summary>Deserializes an entry's payload with the store's serializer.</summary>
    /// <typeparam name="T">The value type.</typeparam>
    /// <param name="store">The store the entry came from.</param>
    /// <param name="entry">The entry.</param>
    /// <returns>The value.</returns>
    /// <exception cref="StoreCorruptedException">The payload cannot be read as <typeparamref name="T"/>.</exception>
    public static T? Deserialize<T>(this IStore store, StoreEntry entry)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(entry);
        try
        {
            return store.Serializer.Deserialize<T>(entry.Payload);
        }
        catch (PersistenceException ex) when (ex is not StoreCorruptedException)
        {
            throw new StoreCorruptedException(
                $"The record '{entry.Collection}/{entry.Key}' in store '{store.Name}' cannot be read as {typeof(T).Name}: {ex.Message}",
                null, entry.Collection, entry.Key, ex);
        }
    }

    /// <summary>Turns an entry into a typed document.</summary>
    /// <typeparam name="T">The value type.</typeparam>
    /// <param name="store">The store the entry came from.</param>
    /// <param name="entry">The entry.</param>
    /// <returns>The document.</returns>
    /// <exception cref="StoreCorruptedException">The payload cannot be read as <typeparamref name="T"/>.</exception>
    public static Document<T> ToDocument<T>(this IStore store, StoreEntry entry)
    {
        var value = store.Deserialize<T>(entry);
        return new Document<T>(entry.Key, value!, entry.Version, entry.CreatedAt, entry.UpdatedAt, entry.ExpiresAt);
    }
}
