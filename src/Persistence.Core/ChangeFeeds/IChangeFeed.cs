namespace Persistence;

/// <summary>
/// A store's feed of committed changes, from every process that shares its data. Stores that have one report
/// <see cref="StoreCapabilities.ChangeNotifications"/>; reach it through decorators with
/// <see cref="StoreChangeFeeds.GetChangeFeed(IStore)"/>.
/// </summary>
/// <remarks>
/// Every committed write appears, in commit order (so in order per key), at least once; the operations of a batch appear
/// in batch order with one shared <see cref="ChangeFeedPosition.Commit"/>; a write that fails (a version conflict, a
/// rolled-back batch) never appears. A store keeps a bounded history; a consumer asking for a position older than that
/// gets a <see cref="ChangeFeedGapException"/> and should reload what it caches. See docs/change-feed.md.
/// </remarks>
public interface IChangeFeed
{
    /// <summary>Gets the position of the newest committed change (<see cref="ChangeFeedPosition.Start"/> when there is none yet).</summary>
    /// <param name="cancellationToken">A token that cancels the operation.</param>
    /// <returns>The position; watching from it reports every change committed after this call.</returns>
    /// <exception cref="StoreUnavailableException">The store's backend cannot be reached.</exception>
    ValueTask<ChangeFeedPosition> GetPositionAsync(CancellationToken cancellationToken = default);

    /// <summary>Reports committed changes as they happen, until cancelled.</summary>
    /// <param name="collection">The collection to report, or <see langword="null"/> for every collection.</param>
    /// <param name="from">
    /// Report the changes after this position; <see langword="null"/> for the changes committed after the enumeration
    /// starts (read <see cref="GetPositionAsync"/> first when a change made before the first <c>MoveNextAsync</c> must be
    /// seen).
    /// </param>
    /// <param name="cancellationToken">A token that ends the enumeration.</param>
    /// <returns>The changes, in commit order; the enumeration waits for new ones and ends only when cancelled.</returns>
    /// <exception cref="ChangeFeedGapException">Changes after <paramref name="from"/> are no longer kept.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    IAsyncEnumerable<StoreChange> WatchAsync(string? collection = null, ChangeFeedPosition? from = null, CancellationToken cancellationToken = default);
}

/// <summary>Finds the change feed of a store, through the decorators <c>AddPersistence()</c> puts around it.</summary>
public static class StoreChangeFeeds
{
    /// <summary>Gets the change feed of <paramref name="store"/> or of the first store it wraps that has one.</summary>
    /// <param name="store">The store.</param>
    /// <returns>The change feed, or <see langword="null"/> when the store has none.</returns>
    public static IChangeFeed? GetChangeFeed(this IStore store)
    {
        ArgumentNullException.ThrowIfNull(store);
        for (IStore? current = store; current is not null; current = (current as IStoreDecorator)?.InnerStore)
        {
            // A store may have a feed it was configured without (it then reports no ChangeNotifications).
            if (current is IChangeFeed feed && current.Capabilities.HasFlag(StoreCapabilities.ChangeNotifications))
            {
                return feed;
            }
        }

        return null;
    }

    /// <summary>Reports the committed changes of <paramref name="store"/>; see <see cref="IChangeFeed.WatchAsync"/>.</summary>
    /// <param name="store">The store.</param>
    /// <param name="collection">The collection to report, or <see langword="null"/> for every collection.</param>
    /// <param name="from">Report the changes after this position; <see langword="null"/> for changes from now on.</param>
    /// <param name="cancellationToken">A token that ends the enumeration.</param>
    /// <returns>The changes, in commit order.</returns>
    /// <exception cref="NotSupportedException">The store has no change feed.</exception>
    public static IAsyncEnumerable<StoreChange> WatchAsync(this IStore store, string? collection = null, ChangeFeedPosition? from = null, CancellationToken cancellationToken = default)
    {
        var feed = store.GetChangeFeed()
            ?? throw new NotSupportedException($"The store '{store.Name}' ({store.GetType().Name}) has no change feed; stores that have one report StoreCapabilities.ChangeNotifications.");
        return feed.WatchAsync(collection, from, cancellationToken);
    }
}
