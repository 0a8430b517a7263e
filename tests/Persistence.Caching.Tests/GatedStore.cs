namespace Persistence.Caching.Tests;

/// <summary>
/// Wraps a real store; when armed, a read fetches its record from the wrapped store and then waits at a gate before
/// returning it, so a test can run a write between the read's fetch and the cache's population.
/// </summary>
internal sealed class GatedStore(IStore inner) : DelegatingStore(inner)
{
    private TaskCompletionSource? _gate;
    private TaskCompletionSource? _fetched;

    public int Reads { get; private set; }

    /// <summary>Makes the next read stop after fetching; returns a task that completes when it has fetched and the gate to release it.</summary>
    public (Task Fetched, TaskCompletionSource Gate) ArmNextRead()
    {
        _gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _fetched = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        return (_fetched.Task, _gate);
    }

    public override async ValueTask<StoreEntry?> GetAsync(string collection, string key, CancellationToken cancellationToken = default)
    {
        Reads++;
        var entry = await Inner.GetAsync(collection, key, cancellationToken);
        if (_gate is { } gate)
        {
            _gate = null;
            _fetched!.SetResult();
            await gate.Task;
        }

        return entry;
    }

    public override ValueTask<IReadOnlyList<StoreEntry?>> GetManyAsync(string collection, IReadOnlyList<string> keys, CancellationToken cancellationToken = default)
    {
        Reads += keys.Count;
        return Inner.GetManyAsync(collection, keys, cancellationToken);
    }
}
