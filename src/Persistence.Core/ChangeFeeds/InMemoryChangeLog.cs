namespace Persistence;

/// <summary>One change a writer is about to commit, before the log gives it a position.</summary>
internal readonly record struct PendingChange(string Collection, string Key, StoreChangeKind Kind, long Version);

/// <summary>
/// A change log kept in process memory: the newest <see cref="Capacity"/> changes, positions numbered from 1, waiters
/// woken by each commit. The in-memory store's feed, and the in-process part of the feeds of other stores.
/// </summary>
internal sealed class InMemoryChangeLog : IChangeLogSource
{
    private readonly Lock _gate = new();
    private readonly List<StoreChange> _changes = [];
    private long _commit;
    private ChangeFeedPosition? _trimmedThrough;
    private TaskCompletionSource _committed = NewSignal();
    private bool _closed;

    public InMemoryChangeLog(string storeName, int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        StoreName = storeName;
        Capacity = capacity;
    }

    public string StoreName { get; }

    /// <summary>Gets how many changes the log keeps; older ones are trimmed.</summary>
    public int Capacity { get; }

    /// <summary>Gets the position of the newest change.</summary>
    public ChangeFeedPosition Newest
    {
        get
        {
            lock (_gate)
            {
                return NewestUnderLock();
            }
        }
    }

    /// <summary>Records the changes of one commit (several for a batch), giving them one commit number.</summary>
    public void Append(ReadOnlySpan<PendingChange> changes, DateTimeOffset timestamp)
    {
        if (changes.IsEmpty)
        {
            return;
        }

        TaskCompletionSource committed;
        lock (_gate)
        {
            var commit = ++_commit;
            for (var i = 0; i < changes.Length; i++)
            {
                var change = changes[i];
                _changes.Add(new StoreChange(change.Collection, change.Key, change.Kind, change.Version, new ChangeFeedPosition(commit, i), timestamp));
            }

            // Trim in steps of a quarter of the capacity, so a steady stream of writes does not shift the list each time.
            if (_changes.Count > Capacity + (Capacity / 4))
            {
                var drop = _changes.Count - Capacity;
                _trimmedThrough = _changes[drop - 1].Position;
                _changes.RemoveRange(0, drop);
            }

            committed = _committed;
            _committed = NewSignal();
        }

        committed.TrySetResult();
    }

    /// <summary>Records one change as its own commit.</summary>
    public void Append(string collection, string key, StoreChangeKind kind, long version, DateTimeOffset timestamp)
        => Append([new PendingChange(collection, key, kind, version)], timestamp);

    public ValueTask<ChangeFeedPosition> GetPositionAsync(CancellationToken cancellationToken) => new(Newest);

    public ValueTask<ChangeLogPage> ReadAfterAsync(ChangeFeedPosition after, string? collection, int limit, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            var page = new List<StoreChange>();
            for (var i = FirstAfter(after); i < _changes.Count && page.Count < limit; i++)
            {
                if (collection is null || string.Equals(_changes[i].Collection, collection, StringComparison.Ordinal))
                {
                    page.Add(_changes[i]);
                }
            }

            return new(new ChangeLogPage(page, _trimmedThrough, NewestUnderLock()));
        }
    }

    public async ValueTask WaitAsync(ChangeFeedPosition after, CancellationToken cancellationToken)
    {
        Task committed;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_closed, this);
            if (NewestUnderLock() > after)
            {
                return;
            }

            committed = _committed.Task;
        }

        await committed.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Ends every waiting consumer with an <see cref="ObjectDisposedException"/>: the store is gone.</summary>
    public void Close()
    {
        TaskCompletionSource committed;
        lock (_gate)
        {
            _closed = true;
            committed = _committed;
        }

        committed.TrySetException(new ObjectDisposedException(StoreName, $"The store '{StoreName}' has been disposed; its change feed has ended."));
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private ChangeFeedPosition NewestUnderLock() => _changes.Count > 0 ? _changes[^1].Position : _trimmedThrough ?? ChangeFeedPosition.Start;

    private int FirstAfter(ChangeFeedPosition after)
    {
        int low = 0, high = _changes.Count;
        while (low < high)
        {
            var middle = low + ((high - low) / 2);
            if (_changes[middle].Position <= after)
            {
                low = middle + 1;
            }
            else
            {
                high = middle;
            }
        }

        return low;
    }
}
