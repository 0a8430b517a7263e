namespace Persistence.Caching;

// Stampede protection: concurrent misses of one key share one read of the wrapped store.
public sealed partial class CachingStore
{
    private ValueTask<StoreEntry?> FetchAsync(string collection, string key, string cacheKey, int stripe, CancellationToken cancellationToken)
    {
        var starting = WaitForFeedStartAsync(cancellationToken);
        return starting.IsCompletedSuccessfully
            ? JoinOrFlyAsync(collection, key, cacheKey, stripe, cancellationToken)
            : AfterFeedStartAsync(starting, collection, key, cacheKey, stripe, cancellationToken);
    }

    private async ValueTask<StoreEntry?> AfterFeedStartAsync(ValueTask starting, string collection, string key, string cacheKey, int stripe, CancellationToken cancellationToken)
    {
        await starting.ConfigureAwait(false);
        return await JoinOrFlyAsync(collection, key, cacheKey, stripe, cancellationToken).ConfigureAwait(false);
    }

    private ValueTask<StoreEntry?> JoinOrFlyAsync(string collection, string key, string cacheKey, int stripe, CancellationToken cancellationToken)
    {
        while (true)
        {
            // The stamp is taken before the read: a write that completes after it moves a generation on, so whatever this
            // read brings back is never served after that write. For the same reason a reader joins a running read only
            // when no write of its key, collection or cache ended since that read began.
            var stamp = StampOf(stripe, collection);
            var flight = new Flight(stamp);
            if (_flights.TryGetValue(cacheKey, out var running))
            {
                if (running.Stamp == stamp && running.TryJoin())
                {
                    return running.WaitAsync(cancellationToken);
                }

                if (!_flights.TryUpdate(cacheKey, flight, running))
                {
                    continue;
                }
            }
            else if (!_flights.TryAdd(cacheKey, flight))
            {
                continue;
            }

            // A read that ended between this reader's miss and now has cached the record before it left the table.
            if (TryPeek(cacheKey, stripe, collection, out var cached))
            {
                _flights.TryRemove(new KeyValuePair<string, Flight>(cacheKey, flight));
                flight.Complete(cached);
                return new ValueTask<StoreEntry?>(cached);
            }

            _ = FlyAsync(flight, collection, key, cacheKey, stripe);
            return flight.WaitAsync(cancellationToken);
        }
    }

    // Never throws: the outcome goes to the flight, where every waiting reader gets it.
    private async Task FlyAsync(Flight flight, string collection, string key, string cacheKey, int stripe)
    {
        StoreEntry? result = null;
        Exception? failure = null;
        try
        {
            var fetchedAt = _time.GetUtcNow();
            var entry = await _inner.GetAsync(collection, key, flight.Cancellation).ConfigureAwait(false);
            result = Populate(cacheKey, flight.Stamp, entry, fetchedAt);
            if (StampOf(stripe, collection) != flight.Stamp)
            {
                _cache.Remove(cacheKey);
            }
        }
        catch (Exception ex)
        {
            failure = ex;
        }
        finally
        {
            // Left only after the record is cached, so a reader that finds no read running finds the record instead.
            _flights.TryRemove(new KeyValuePair<string, Flight>(cacheKey, flight));
        }

        if (failure is null)
        {
            flight.Complete(result);
        }
        else
        {
            flight.Fail(failure);
        }
    }

    /// <summary>One read of the wrapped store that every concurrent miss of its key waits for.</summary>
#pragma warning disable CA1001 // The cancellation source has no timer and no wait handle; see the field.
    private sealed class Flight(Stamp stamp)
#pragma warning restore CA1001
    {
        private readonly TaskCompletionSource<StoreEntry?> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);

        // Not disposed: it has no timer and no wait handle, and a late cancellation must never meet a disposed source.
        private readonly CancellationTokenSource _cancellation = new();
        private int _waiters = 1;

        public Stamp Stamp { get; } = stamp;

        public CancellationToken Cancellation => _cancellation.Token;

        /// <summary>Counts one more reader, unless every reader has already given up (the read is being cancelled).</summary>
        public bool TryJoin()
        {
            while (true)
            {
                var waiters = Volatile.Read(ref _waiters);
                if (waiters <= 0 || _completion.Task.IsCompleted)
                {
                    return false;
                }

                if (Interlocked.CompareExchange(ref _waiters, waiters + 1, waiters) == waiters)
                {
                    return true;
                }
            }
        }

        public void Complete(StoreEntry? entry) => _completion.TrySetResult(entry);

        public void Fail(Exception exception)
        {
            if (exception is OperationCanceledException && _cancellation.IsCancellationRequested)
            {
                _completion.TrySetCanceled(_cancellation.Token);
            }
            else
            {
                _completion.TrySetException(exception);
            }
        }

        public ValueTask<StoreEntry?> WaitAsync(CancellationToken cancellationToken)
        {
            var task = _completion.Task;
            if (task.IsCompletedSuccessfully)
            {
                return new ValueTask<StoreEntry?>(task.Result);
            }

            return cancellationToken.CanBeCanceled ? WaitCancellableAsync(task, cancellationToken) : new ValueTask<StoreEntry?>(task);
        }

        private async ValueTask<StoreEntry?> WaitCancellableAsync(Task<StoreEntry?> task, CancellationToken cancellationToken)
        {
            try
            {
                return await task.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested && !task.IsCompleted)
            {
                // This reader gives up; the read goes on for the others, and stops only when the last one gives up too.
                if (Interlocked.Decrement(ref _waiters) == 0)
                {
                    _cancellation.Cancel();
                }

                throw;
            }
        }
    }
}
