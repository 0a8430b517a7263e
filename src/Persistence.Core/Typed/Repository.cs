using System.Runtime.CompilerServices;

namespace Persistence;

internal sealed class Repository<T>(IStore store, string collection, Func<T, string> keySelector, int maxUpdateAttempts) : IRepository<T>
{
    public string Collection { get; } = collection;

    public IStore Store { get; } = store;

    public async ValueTask<T?> GetAsync(string key, CancellationToken ct = default)
    {
        var entry = await Store.GetAsync(Collection, key, ct).ConfigureAwait(false);
        return entry is null ? default : Store.Deserialize<T>(entry);
    }

    public async ValueTask<Document<T>?> GetDocumentAsync(string key, CancellationToken ct = default)
    {
        var entry = await Store.GetAsync(Collection, key, ct).ConfigureAwait(false);
        return entry is null ? null : Store.ToDocument<T>(entry);
    }

    public ValueTask<long> SaveAsync(T entity, PutOptions? options = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(entity);
        return SaveAsync(keySelector(entity), entity, options, ct);
    }

    public ValueTask<long> SaveAsync(string key, T entity, PutOptions? options = null, CancellationToken ct = default)
        => Store.PutAsync(Collection, key, entity, options, ct);

    public async ValueTask<T> UpdateAsync(string key, Func<T?, T> update, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(update);
        for (var attempt = 1; ; attempt++)
        {
            var current = await GetDocumentAsync(key, ct).ConfigureAwait(false);
            var next = update(current is null ? default : current.Value);
            try
            {
                await Store.PutAsync(Collection, key, next, new PutOptions { ExpectedVersion = current?.Version ?? 0 }, ct).ConfigureAwait(false);
                return next;
            }
            catch (ConcurrencyConflictException) when (attempt < maxUpdateAttempts)
            {
                // Another writer won; read again and re-apply the change.
            }
        }
    }

    public ValueTask<bool> DeleteAsync(string key, long? expectedVersion = null, CancellationToken ct = default)
        => Store.DeleteAsync(Collection, key, expectedVersion, ct);

    public async IAsyncEnumerable<Document<T>> ListAsync([EnumeratorCancellation] CancellationToken ct = default)
    {
        await foreach (var entry in Store.ScanAsync(Collection, null, ct).ConfigureAwait(false))
        {
            yield return Store.ToDocument<T>(entry);
        }
    }

    public async IAsyncEnumerable<Document<T>> QueryAsync(Query query, [EnumeratorCancellation] CancellationToken ct = default)
    {
        await foreach (var entry in Store.QueryAsync(Collection, query, ct).ConfigureAwait(false))
        {
            yield return Store.ToDocument<T>(entry);
        }
    }
}
