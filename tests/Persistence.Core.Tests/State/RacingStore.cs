namespace Persistence.Core.Tests.State;

/// <summary>
/// Wraps a store and, before each of the first <c>races</c> batch commits, runs a competing write on the inner store, so
/// the commit meets a real version conflict.
/// </summary>
internal sealed class RacingStore(IStore inner, int races, Func<IStore, ValueTask> competitor) : IStore
{
    private int _remaining = races;

    public int Commits { get; private set; }

    public string Name => inner.Name;

    public ISerializer Serializer => inner.Serializer;

    public StoreCapabilities Capabilities => inner.Capabilities;

    public ValueTask<StoreEntry?> GetAsync(string collection, string key, CancellationToken cancellationToken = default)
        => inner.GetAsync(collection, key, cancellationToken);

    public ValueTask<IReadOnlyList<StoreEntry?>> GetManyAsync(string collection, IReadOnlyList<string> keys, CancellationToken cancellationToken = default)
        => inner.GetManyAsync(collection, keys, cancellationToken);

    public ValueTask<long> PutAsync(string collection, string key, ReadOnlyMemory<byte> payload, PutOptions? options = null, CancellationToken cancellationToken = default)
        => inner.PutAsync(collection, key, payload, options, cancellationToken);

    public ValueTask<bool> DeleteAsync(string collection, string key, long? expectedVersion = null, CancellationToken cancellationToken = default)
        => inner.DeleteAsync(collection, key, expectedVersion, cancellationToken);

    public async ValueTask<IReadOnlyList<long>> CommitAsync(WriteBatch batch, CancellationToken cancellationToken = default)
    {
        Commits++;
        if (_remaining > 0)
        {
            _remaining--;
            await competitor(inner);
        }

        return await inner.CommitAsync(batch, cancellationToken);
    }

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
