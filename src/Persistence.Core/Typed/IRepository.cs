namespace Persistence;

/// <summary>Typed access to the entities of one collection of a store.</summary>
/// <typeparam name="T">The entity type.</typeparam>
public interface IRepository<T>
{
    /// <summary>Gets the collection that holds the entities.</summary>
    string Collection { get; }

    /// <summary>Gets the store that holds the collection.</summary>
    IStore Store { get; }

    /// <summary>Reads an entity.</summary>
    /// <param name="key">The key.</param>
    /// <param name="ct">A token that cancels the operation.</param>
    /// <returns>The entity, or <see langword="default"/> when it does not exist.</returns>
    ValueTask<T?> GetAsync(string key, CancellationToken ct = default);

    /// <summary>Reads an entity with its version and timestamps.</summary>
    /// <param name="key">The key.</param>
    /// <param name="ct">A token that cancels the operation.</param>
    /// <returns>The document, or <see langword="null"/> when it does not exist.</returns>
    ValueTask<Document<T>?> GetDocumentAsync(string key, CancellationToken ct = default);

    /// <summary>Saves an entity under the key its key selector gives.</summary>
    /// <param name="entity">The entity.</param>
    /// <param name="options">The expected version and time-to-live, or <see langword="null"/>.</param>
    /// <param name="ct">A token that cancels the operation.</param>
    /// <returns>The new version.</returns>
    /// <exception cref="ConcurrencyConflictException">The expected version did not match; nothing was written.</exception>
    ValueTask<long> SaveAsync(T entity, PutOptions? options = null, CancellationToken ct = default);

    /// <summary>Saves an entity under a key.</summary>
    /// <param name="key">The key.</param>
    /// <param name="entity">The entity.</param>
    /// <param name="options">The expected version and time-to-live, or <see langword="null"/>.</param>
    /// <param name="ct">A token that cancels the operation.</param>
    /// <returns>The new version.</returns>
    /// <exception cref="ConcurrencyConflictException">The expected version did not match; nothing was written.</exception>
    ValueTask<long> SaveAsync(string key, T entity, PutOptions? options = null, CancellationToken ct = default);

    /// <summary>
    /// Reads, changes and writes an entity with optimistic concurrency, calling <paramref name="update"/> again with
    /// the fresh value when another writer got there first.
    /// </summary>
    /// <param name="key">The key.</param>
    /// <param name="update">Gives the new value from the current one (<see langword="default"/> when missing); may run more than once.</param>
    /// <param name="ct">A token that cancels the operation.</param>
    /// <returns>The value written.</returns>
    /// <exception cref="ConcurrencyConflictException">Other writers won every attempt.</exception>
    ValueTask<T> UpdateAsync(string key, Func<T?, T> update, CancellationToken ct = default);

    /// <summary>Deletes an entity.</summary>
    /// <param name="key">The key.</param>
    /// <param name="expectedVersion">The version it must have, or <see langword="null"/> for any.</param>
    /// <param name="ct">A token that cancels the operation.</param>
    /// <returns>Whether an entity was deleted.</returns>
    ValueTask<bool> DeleteAsync(string key, long? expectedVersion = null, CancellationToken ct = default);

    /// <summary>Lists every entity in key order.</summary>
    /// <param name="ct">A token that cancels the enumeration.</param>
    /// <returns>The documents.</returns>
    IAsyncEnumerable<Document<T>> ListAsync(CancellationToken ct = default);

    /// <summary>Lists the entities that match a query, in the query's order.</summary>
    /// <param name="query">The query.</param>
    /// <param name="ct">A token that cancels the enumeration.</param>
    /// <returns>The documents.</returns>
    IAsyncEnumerable<Document<T>> QueryAsync(Query query, CancellationToken ct = default);
}
