namespace Persistence;

/// <summary>
/// For store implementations: group commit. A put or delete that finds the store's writer busy joins a queue instead of
/// waiting for the write lock on its own. One of the queued callers (the first to find no drain scheduled) takes the lock
/// for everyone and, once it has it, takes everything queued by then and hands it to the store as one group; writes that
/// arrive meanwhile queue for the next group. Each caller is completed with its own outcome, once the group is durable.
/// </summary>
/// <remarks>
/// A cancellation before a drain takes the write out of the queue cancels it (it is never written); after that the write
/// completes with its real outcome. A group of one runs through <see cref="IGroupCommitHost.RunAloneAsync"/>, the
/// store's ordinary single-write path.
/// </remarks>
internal sealed class GroupCommitQueue(IGroupCommitHost host)
{
    private readonly Lock _gate = new();
    private List<QueuedWrite> _queue = [];

    // A list to swap in for the next group; only the drain holding the store's write lock touches it.
    private List<QueuedWrite>? _spare = [];
    private bool _drainScheduled;

    /// <summary>Gets how many writes wait in the queue (cancelled ones included until a drain removes them).</summary>
    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _queue.Count;
            }
        }
    }

    /// <summary>Queues a write for the next group and returns its result once the group holding it is durable.</summary>
    /// <exception cref="ObjectDisposedException">The store has been disposed.</exception>
    public async ValueTask<long> EnqueueAsync(QueuedWrite write, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(host.IsDisposed, host);
        bool drain;
        lock (_gate)
        {
            _queue.Add(write);
            drain = !_drainScheduled;
            _drainScheduled = true;
        }

        var registration = cancellationToken.CanBeCanceled
            ? cancellationToken.UnsafeRegister(static (state, token) => ((QueuedWrite)state!).TryCancel(token), write)
            : default;
        try
        {
            if (drain)
            {
                // Never throws: every failure is handed to the queued callers.
                _ = DrainAsync();
            }

            return await write.Task.ConfigureAwait(false);
        }
        finally
        {
            await registration.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async Task DrainAsync()
    {
        IDisposable writeLock;
        try
        {
            // The drain works for every queued caller, so it waits whatever their tokens say.
            writeLock = await host.LockForGroupAsync().ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // The lock could not be taken (a lock timeout): everyone queued by now gets that failure.
            var failed = TakeQueue();
            var error = host.IsDisposed ? new ObjectDisposedException(host.GetType().FullName) : ex;
            foreach (var write in failed)
            {
                write.TrySetException(error);
            }

            return;
        }

        var taken = TakeQueue();
        try
        {
            var live = 0;
            for (var i = 0; i < taken.Count; i++)
            {
                if (taken[i].TryTake())
                {
                    taken[live++] = taken[i];
                }
            }

            taken.RemoveRange(live, taken.Count - live);
            if (live > 0)
            {
                if (host.IsDisposed)
                {
                    var disposed = new ObjectDisposedException(host.GetType().FullName);
                    foreach (var write in taken)
                    {
                        write.TrySetException(disposed);
                    }
                }
                else if (live == 1)
                {
                    // One caller: exactly the path of a write that found the lock free.
                    var write = taken[0];
                    write.Complete(await host.RunAloneAsync(write).ConfigureAwait(false));
                }
                else
                {
                    await host.RunGroupAsync(taken).ConfigureAwait(false);
                }
            }
        }
        catch (Exception ex)
        {
            // Not expected (every operation's failure is its own result): no caller may be left waiting.
            foreach (var write in taken)
            {
                write.TrySetException(ex);
            }
        }
        finally
        {
            taken.Clear();
            _spare = taken;
            writeLock.Dispose();
        }
    }

    private List<QueuedWrite> TakeQueue()
    {
        lock (_gate)
        {
            var taken = _queue;
            _queue = _spare ?? [];
            _spare = null;
            _drainScheduled = false;
            return taken;
        }
    }
}

/// <summary>What a store gives its <see cref="GroupCommitQueue"/>: how to take its write lock and run a group.</summary>
internal interface IGroupCommitHost
{
    /// <summary>Gets whether the store has been disposed (queued writes then fail with <see cref="ObjectDisposedException"/>).</summary>
    bool IsDisposed { get; }

    /// <summary>Takes the store's write lock for a group, whatever the callers' tokens say; disposing the result releases it.</summary>
    /// <remarks>A failure (a lock timeout) fails every queued caller with that exception.</remarks>
    ValueTask<IDisposable> LockForGroupAsync();

    /// <summary>Runs one write exactly as a write that found the lock free; the outcome is returned, never thrown.</summary>
    ValueTask<WriteOutcome> RunAloneAsync(QueuedWrite write);

    /// <summary>Runs two or more writes as one group and completes each (<see cref="QueuedWrite.Complete"/>) once durable.</summary>
    ValueTask RunGroupAsync(IReadOnlyList<QueuedWrite> group);
}

/// <summary>What a queued write ended with: its result (a version; 1 or 0 for a delete), or its failure.</summary>
internal readonly record struct WriteOutcome(long Result, Exception? Error);

/// <summary>A put (with <see cref="PutOptions"/>) or a delete waiting in a <see cref="GroupCommitQueue"/>.</summary>
internal sealed class QueuedWrite : TaskCompletionSource<long>
{
    private const int Queued = 0;
    private const int Taken = 1;
    private const int Cancelled = 2;
    private int _state;

    private QueuedWrite(string collection, string key, ReadOnlyMemory<byte> payload, PutOptions? putOptions, long? expectedVersion)
        : base(TaskCreationOptions.RunContinuationsAsynchronously)
    {
        Collection = collection;
        Key = key;
        Payload = payload;
        PutOptions = putOptions;
        ExpectedVersion = expectedVersion;
    }

    public string Collection { get; }

    public string Key { get; }

    public ReadOnlyMemory<byte> Payload { get; }

    /// <summary>Gets the options of a put; <see langword="null"/> for a delete.</summary>
    public PutOptions? PutOptions { get; }

    /// <summary>Gets the expected version of a delete.</summary>
    public long? ExpectedVersion { get; }

    public static QueuedWrite ForPut(string collection, string key, ReadOnlyMemory<byte> payload, PutOptions options)
        => new(collection, key, payload, options, null);

    public static QueuedWrite ForDelete(string collection, string key, long? expectedVersion)
        => new(collection, key, ReadOnlyMemory<byte>.Empty, null, expectedVersion);

    /// <summary>Takes the write out of the queue for a group; false when its caller cancelled it first.</summary>
    public bool TryTake() => Interlocked.CompareExchange(ref _state, Taken, Queued) == Queued;

    public void TryCancel(CancellationToken token)
    {
        if (Interlocked.CompareExchange(ref _state, Cancelled, Queued) == Queued)
        {
            TrySetCanceled(token);
        }
    }

    public void Complete(WriteOutcome outcome)
    {
        if (outcome.Error is { } error)
        {
            TrySetException(error);
        }
        else
        {
            TrySetResult(outcome.Result);
        }
    }
}
