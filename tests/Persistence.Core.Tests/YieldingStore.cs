namespace Persistence.Core.Tests;

/// <summary>
/// Passes every call to a real store, but gives up the thread after each read, so concurrent read-then-write sequences
/// really interleave even on stores whose calls complete synchronously.
/// </summary>
internal sealed class YieldingStore(IStore inner) : IStore
{
    public string Name => inner.Name;

    public ISerializer Serializer => inner.Serializer;

    public StoreCapabilities Capabilities => inner.Capabilities;

    public async ValueTask<StoreEntry?> GetAsync(string collection, string key, CancellationToken cancellationToken = default)
    {
        var entry = await inner.GetAsync(collection, key, cancellationToken);
        await Task.Yield();
        return entry;
    }

    public ValueTask<IReadOnlyList<StoreEntry?>> GetManyAsync(string collection, IReadOnlyList<string> keys, CancellationToken cancellationToken = default)
        => inner.GetManyAsync(collection, keys, cancellationToken);

    public ValueTask<long> PutAsync(string collection, string key, ReadOnlyMemory<byte> payload, PutOptions? options = null, CancellationToken cancellationToken = default)
        => inner.PutAsync(collection, key, payload, options, cancellationToken);

    public ValueTask<bool> DeleteAsync(string collection, string key, long? expectedVersion = null, CancellationToken cancellationToken = default)
        => inner.DeleteAsync(collection, key, expectedVersion, cancellationToken);

    public ValueTask<IReadOnlyList<long>> CommitAsync(WriteBatch batch, CancellationToken cancellationToken = default)
        => inner.CommitAsync(batch, cancellationToken);

    public IAsyncEnumerable<StoreEntry> ScanAsync(string collection, ScanOptions? options = null, CancellationToken cancellationToken = default)
        => inner.ScanAsync(collection, options, cancellationToken);

    public IAsyncEnumerable<StoreEntry> QueryAsync(string collection, Query query, CancellationToken cancellationToken = default)
        => inner.QueryAsync(collection, query, cancellationToken);

    public ValueTask<long> CountAsync(string collection, CancellationToken cancellationToken = default)
        => inner.CountAsync(collection, cancellationToken);

    public IAsyncEnumerable<string> ListCollectionsAsync(CancellationToken cancellationToken = default)
        => inner.ListCollectionsAsync(cancellationToken);

    public ValueTask<ImportResult> ImportAsync(IReadOnlyList<StoreEntry> entries, ImportMode mode, CancellationToken cancellationToken = default)
        => inner.ImportAsync(entries, mode, cancellationToken);

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
