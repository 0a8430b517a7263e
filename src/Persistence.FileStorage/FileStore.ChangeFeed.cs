using Microsoft.Extensions.Logging;

namespace Persistence.FileStorage;

public abstract partial class FileStore : IChangeFeed
{
    private ChangeLogRetention _retention;
    private TimeSpan _pollInterval;
    private FeedSource? _feedSource;

    /// <inheritdoc />
    /// <exception cref="StoreCorruptedException">The change log <c>&lt;root&gt;/.changes</c> cannot be read.</exception>
    public ValueTask<ChangeFeedPosition> GetPositionAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        cancellationToken.ThrowIfCancellationRequested();
        return new(Root.ChangeLog.Refresh());
    }

    /// <inheritdoc />
    /// <remarks>
    /// Changes are read from <c>&lt;root&gt;/.changes</c>, which every writer on the root (in any process) appends to
    /// under its write lock. Writes of this process wake a waiting consumer at once; writes of other processes through a
    /// file-system watcher on the root, or at the latest after <see cref="FileStoreOptions.ChangeFeedPollInterval"/>.
    /// </remarks>
    public IAsyncEnumerable<StoreChange> WatchAsync(string? collection = null, ChangeFeedPosition? from = null, CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        if (collection is not null)
        {
            StoreNames.ValidateCollection(collection);
        }

        return ChangeFeedLoop.RunAsync(FeedSourceOf(), collection, from, cancellationToken);
    }

    private void InitializeChangeFeed(FileStoreOptions options)
    {
        _retention = new ChangeLogRetention(options.ChangeFeedMaxCount, options.ChangeFeedMaxAge);
        _pollInterval = options.ChangeFeedPollInterval;
    }

    private FeedSource FeedSourceOf()
    {
        if (Volatile.Read(ref _feedSource) is { } source)
        {
            return source;
        }

        Interlocked.CompareExchange(ref _feedSource, new FeedSource(this), null);
        return _feedSource;
    }

    private void CloseChangeFeed() => _feedSource?.Close();

    /// <summary>Gets the store's time, for changes the engine records outside a write (edits made by hand).</summary>
    internal DateTimeOffset UtcNow() => TimeProvider.GetUtcNow();

    /// <summary>Reserves the commit of a write about to change data files; pair with <see cref="RecordChanges"/>.</summary>
    internal long ReserveCommit() => Root.ChangeLog.Reserve(_flushToDisk);

    /// <summary>
    /// Appends the changes of a committed write to the change log. The data is committed already, so a failure is
    /// logged, not thrown: the reservation stays ahead of the log, and the next writer marks the gap for consumers.
    /// </summary>
    internal void RecordChanges(long commit, IReadOnlyList<PendingChange> changes, DateTimeOffset now)
    {
        try
        {
            Root.ChangeLog.Append(commit, changes, now, _retention, _flushToDisk);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or StoreCorruptedException)
        {
            Log.ChangeLogWriteFailed(_logger, Name, Root.ChangeLog.LogPath, ex);
        }
    }

    /// <summary>The store's view of the root's change log, ended when the store is disposed.</summary>
    private sealed class FeedSource(FileStore store) : IChangeLogSource
    {
        private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public string StoreName => store.Name;

        public ValueTask<ChangeFeedPosition> GetPositionAsync(CancellationToken cancellationToken)
        {
            ThrowIfClosed();
            return new(store.Root.ChangeLog.Refresh());
        }

        public ValueTask<ChangeLogPage> ReadAfterAsync(ChangeFeedPosition after, string? collection, int limit, CancellationToken cancellationToken)
        {
            ThrowIfClosed();
            cancellationToken.ThrowIfCancellationRequested();
            return new(store.Root.ChangeLog.ReadAfter(after, collection, limit));
        }

        public async ValueTask WaitAsync(ChangeFeedPosition after, CancellationToken cancellationToken)
        {
            var log = store.Root.ChangeLog;
            log.EnsureWatching();
            while (true)
            {
                ThrowIfClosed();
                var changed = log.Changed;
                if (log.Refresh() > after)
                {
                    return;
                }

                // The real clock, never the store's TimeProvider: a fake clock in tests must not stall the poll.
                using var poll = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                var delay = Task.Delay(store._pollInterval, TimeProvider.System, poll.Token);
                await Task.WhenAny(changed, delay, _closed.Task).ConfigureAwait(false);
                await poll.CancelAsync().ConfigureAwait(false);
                cancellationToken.ThrowIfCancellationRequested();
            }
        }

        public void Close() => _closed.TrySetResult();

        private void ThrowIfClosed()
        {
            if (_closed.Task.IsCompleted)
            {
                throw new ObjectDisposedException(store.Name, $"The store '{store.Name}' has been disposed; its change feed has ended.");
            }
        }
    }
}
