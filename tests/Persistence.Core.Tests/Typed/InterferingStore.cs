using System.Buffers;

namespace Persistence.Core.Tests.Typed;

/// <summary>
/// Wraps a store and, before each of the first <c>interferences</c> conditional puts, lets a competing writer bump the
/// record first, so the put meets a real version conflict.
/// </summary>
internal sealed class InterferingStore(IStore inner, int interferences, Func<int, ReadOnlyMemory<byte>> competingPayload) : IStore
{
    private int _remaining = interferences;

    public int Puts { get; private set; }

    public int Interfered { get; private set; }

    public string Name => inner.Name;

    public ISerializer Serializer => inner.Serializer;

    public StoreCapabilities Capabilities => inner.Capabilities;

    public static ReadOnlyMemory<byte> Json<T>(ISerializer serializer, T value)
    {
        var buffer = new ArrayBufferWriter<byte>();
        serializer.Serialize(buffer, value);
        return buffer.WrittenMemory;
    }

    public ValueTask<StoreEntry?> GetAsync(string collection, string key, CancellationToken cancellationToken = default)
        => inner.GetAsync(collection, key, cancellationToken);

    public ValueTask<IReadOnlyList<StoreEntry?>> GetManyAsync(string collection, IReadOnlyList<string> keys, CancellationToken cancellationToken = default)
        => inner.GetManyAsync(collection, keys, cancellationToken);

    public async ValueTask<long> PutAsync(string collection, string key, ReadOnlyMemory<byte> payload, PutOptions? options = null, CancellationToken cancellationToken = default)
    {
        Puts++;
        if (options?.ExpectedVersion is not null && _remaining > 0)
        {
            _remaining--;
            Interfered++;
            await inner.PutAsync(collection, key, competingPayload(Interfered), null, cancellationToken);
        }

        return await inner.PutAsync(collection, key, payload, options, cancellationToken);
    }

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

    public ValueTask DisposeAsync() => inner.DisposeAsync();
}
