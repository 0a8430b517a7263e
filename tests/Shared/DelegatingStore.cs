namespace Persistence.Tests;

/// <summary>
/// Passes every <see cref="IStore"/> member to a wrapped store; test decorators derive from it and override only the
/// members they intercept.
/// </summary>
/// <param name="inner">The wrapped store.</param>
/// <param name="disposesInner">Whether disposing the decorator disposes the wrapped store (false where the test owns it).</param>
internal abstract class DelegatingStore(IStore inner, bool disposesInner = true) : IStore
{
    /// <summary>Gets the wrapped store.</summary>
    public IStore Inner { get; } = inner;

    public virtual string Name => Inner.Name;

    public virtual ISerializer Serializer => Inner.Serializer;

    public virtual StoreCapabilities Capabilities => Inner.Capabilities;

    public virtual ValueTask<StoreEntry?> GetAsync(string collection, string key, CancellationToken cancellationToken = default)
        => Inner.GetAsync(collection, key, cancellationToken);

    public virtual ValueTask<IReadOnlyList<StoreEntry?>> GetManyAsync(string collection, IReadOnlyList<string> keys, CancellationToken cancellationToken = default)
        => Inner.GetManyAsync(collection, keys, cancellationToken);

    public virtual ValueTask<long> PutAsync(string collection, string key, ReadOnlyMemory<byte> payload, PutOptions? options = null, CancellationToken cancellationToken = default)
        => Inner.PutAsync(collection, key, payload, options, cancellationToken);

    public virtual ValueTask<bool> DeleteAsync(string collection, string key, long? expectedVersion = null, CancellationToken cancellationToken = default)
        => Inner.DeleteAsync(collection, key, expectedVersion, cancellationToken);

    public virtual ValueTask<IReadOnlyList<long>> CommitAsync(WriteBatch batch, CancellationToken cancellationToken = default)
        => Inner.CommitAsync(batch, cancellationToken);

    public virtual IAsyncEnumerable<StoreEntry> ScanAsync(string collection, ScanOptions? options = null, CancellationToken cancellationToken = default)
        => Inner.ScanAsync(collection, options, cancellationToken);

    public virtual IAsyncEnumerable<StoreEntry> QueryAsync(string collection, Query query, CancellationToken cancellationToken = default)
        => Inner.QueryAsync(collection, query, cancellationToken);

    public virtual ValueTask<bool> ExistsAsync(string collection, string key, CancellationToken cancellationToken = default)
        => Inner.ExistsAsync(collection, key, cancellationToken);

    public virtual IAsyncEnumerable<string> ListKeysAsync(string collection, ScanOptions? options = null, CancellationToken cancellationToken = default)
        => Inner.ListKeysAsync(collection, options, cancellationToken);

    public virtual ValueTask<long> CountAsync(string collection, CancellationToken cancellationToken = default)
        => Inner.CountAsync(collection, cancellationToken);

    public virtual IAsyncEnumerable<string> ListCollectionsAsync(CancellationToken cancellationToken = default)
        => Inner.ListCollectionsAsync(cancellationToken);

    public virtual ValueTask<ImportResult> ImportAsync(IReadOnlyList<StoreEntry> entries, ImportMode mode, CancellationToken cancellationToken = default)
        => Inner.ImportAsync(entries, mode, cancellationToken);

    public virtual ValueTask DisposeAsync() => disposesInner ? Inner.DisposeAsync() : ValueTask.CompletedTask;
}
