namespace Persistence.Core.Tests.Caching;

/// <summary>
/// Wraps a real store; when armed, a read fetches its record from the wrapped store and then waits at a gate before
/// returning it, so a test can run a write between the read's fetch and the cache's population.
/// </summary>
internal sealed class GatedStore(IStore inner) : IStore
{
    private TaskCompletionSource? _gate;
    private TaskCompletionSource? _fetched;

    public int Reads { get; private set; }

    public string Name => inner.Name;

    public ISerializer Serializer => inner.Serializer;

    public StoreCapabilities Capabilities => inner.Capabilities;

    /// <summary>Makes the next read stop after fetching; returns a task that completes when it has fetched and the gate to release it.</summary>
    public (Task Fetched, TaskCompletionSource Gate) ArmNextRead()
    {
        _gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _fetched = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        return (_fetched.Task, _gate);
    }

    public async ValueTask<StoreEntry?> GetAsync(string collection, string key, CancellationToken cancellationToken = default)
    {
        Reads++;
        var entry = await inner.GetAsync(collection, key, cancellationToken);
        if (_gate is { } gate)
        {
            _gate = null;
            _fetched!.SetResult();
            await gate.Task;
        }

        return entry;
    }

    public ValueTask<IReadOnlyList<StoreEntry?>> GetManyAsync(string collection, IReadOnlyList<string> keys, CancellationToken cancellationToken = default)
    {
        Reads += keys.Count;
        return inner.GetManyAsync(collection, keys, cancellationToken);
    }

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

    public ValueTask DisposeAsync() => inner.DisposeAsync();
}
