using System.Runtime.CompilerServices;

namespace Persistence.Caching.Tests;

/// <summary>
/// Passes a store and its change feed through, and lets a test break the feed: end every running watch with an exception
/// (a gap, an unreachable store) and make the feed unreachable until told otherwise.
/// </summary>
internal sealed class FaultingFeedStore(InMemoryStore inner) : DelegatingStore(inner), IChangeFeed
{
    private readonly Lock _gate = new();
    private TaskCompletionSource<Exception> _fault = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _watches;
    private int _activeWatches;

    /// <summary>Gets or sets whether the feed throws <see cref="StoreUnavailableException"/> when asked for anything.</summary>
    public bool Unavailable { get; set; }

    /// <summary>Gets how many watches have been started.</summary>
    public int Watches => Volatile.Read(ref _watches);

    /// <summary>Gets how many watches are running now.</summary>
    public int ActiveWatches => Volatile.Read(ref _activeWatches);

    /// <summary>Ends every running watch with <paramref name="exception"/>.</summary>
    public void Fail(Exception exception)
    {
        TaskCompletionSource<Exception> fault;
        lock (_gate)
        {
            fault = _fault;
            _fault = new TaskCompletionSource<Exception>(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        fault.TrySetResult(exception);
    }

    public ValueTask<ChangeFeedPosition> GetPositionAsync(CancellationToken cancellationToken = default)
        => Unavailable ? ValueTask.FromException<ChangeFeedPosition>(Down()) : inner.GetPositionAsync(cancellationToken);

    public async IAsyncEnumerable<StoreChange> WatchAsync(string? collection = null, ChangeFeedPosition? from = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        if (Unavailable)
        {
            throw Down();
        }

        Task<Exception> fault;
        lock (_gate)
        {
            fault = _fault.Task;
        }

        Interlocked.Increment(ref _watches);
        Interlocked.Increment(ref _activeWatches);
        try
        {
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            await using var changes = inner.WatchAsync(collection, from, stop.Token).GetAsyncEnumerator(stop.Token);
            while (true)
            {
                var next = changes.MoveNextAsync().AsTask();
                if (await Task.WhenAny(next, fault) == fault)
                {
                    await stop.CancelAsync();
                    await Task.WhenAny(next);
                    throw fault.Result;
                }

                if (!await next)
                {
                    yield break;
                }

                yield return changes.Current;
            }
        }
        finally
        {
            Interlocked.Decrement(ref _activeWatches);
        }
    }

    private StoreUnavailableException Down() => new($"The feed of store '{Name}' is unreachable (test).");
}

/// <summary>Counts the reads of a store; when armed, the first read waits at a gate before it reads.</summary>
internal sealed class CountingStore(IStore inner) : DelegatingStore(inner)
{
    private int _reads;
    private TaskCompletionSource? _gate;
    private TaskCompletionSource<CancellationToken>? _entered;

    public int Reads => Volatile.Read(ref _reads);

    /// <summary>Makes the next read wait at a gate; returns the token it was given once it waits, and the gate that releases it.</summary>
    public (Task<CancellationToken> Entered, TaskCompletionSource Gate) ArmNextRead()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _entered = new TaskCompletionSource<CancellationToken>(TaskCreationOptions.RunContinuationsAsynchronously);
        _gate = gate;
        return (_entered.Task, gate);
    }

    public override async ValueTask<StoreEntry?> GetAsync(string collection, string key, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _reads);
        if (Interlocked.Exchange(ref _gate, null) is { } gate)
        {
            _entered!.SetResult(cancellationToken);
            await gate.Task.WaitAsync(cancellationToken);
        }

        return await Inner.GetAsync(collection, key, cancellationToken);
    }
}
