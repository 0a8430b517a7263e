using System.Runtime.CompilerServices;

namespace Persistence;

/// <summary>Where a store keeps the changes its feed reports; <see cref="ChangeFeedLoop"/> turns one into a feed.</summary>
internal interface IChangeLogSource
{
    /// <summary>Gets the name of the store, for error messages.</summary>
    string StoreName { get; }

    /// <summary>Gets the position of the newest kept change (<see cref="ChangeFeedPosition.Start"/> for none).</summary>
    ValueTask<ChangeFeedPosition> GetPositionAsync(CancellationToken cancellationToken);

    /// <summary>Reads up to <paramref name="limit"/> changes after <paramref name="after"/>, oldest first, of one collection or all.</summary>
    ValueTask<ChangeLogPage> ReadAfterAsync(ChangeFeedPosition after, string? collection, int limit, CancellationToken cancellationToken);

    /// <summary>Completes when a change after <paramref name="after"/> may have been committed (a wake-up or a poll interval).</summary>
    ValueTask WaitAsync(ChangeFeedPosition after, CancellationToken cancellationToken);
}

/// <summary>A page of changes read from a change log.</summary>
/// <param name="Changes">The changes, oldest first.</param>
/// <param name="TrimmedThrough">The newest change the log no longer keeps, or <see langword="null"/> when it keeps them all.</param>
/// <param name="Newest">The newest change the log keeps (<see cref="ChangeFeedPosition.Start"/> for none), read with the page.</param>
internal readonly record struct ChangeLogPage(IReadOnlyList<StoreChange> Changes, ChangeFeedPosition? TrimmedThrough, ChangeFeedPosition Newest);

/// <summary>The one loop behind every store's <see cref="IChangeFeed.WatchAsync"/>: read a page, report it, wait, repeat.</summary>
internal static class ChangeFeedLoop
{
    /// <summary>How many changes one read takes.</summary>
    public const int PageSize = 512;

    public static async IAsyncEnumerable<StoreChange> RunAsync(
        IChangeLogSource source,
        string? collection,
        ChangeFeedPosition? from,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var position = from ?? await source.GetPositionAsync(cancellationToken).ConfigureAwait(false);
        var checkedAhead = false;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var page = await source.ReadAfterAsync(position, collection, PageSize, cancellationToken).ConfigureAwait(false);
            if (page.TrimmedThrough is { } trimmed && position < trimmed)
            {
                throw new ChangeFeedGapException(source.StoreName, position, trimmed);
            }

            if (!checkedAhead)
            {
                // A position past the newest change comes from another store or from before this one was recreated or
                // restored: waiting for the store to get there would silently skip every change until it does.
                checkedAhead = true;
                if (position > page.Newest)
                {
                    throw ChangeFeedGapException.Ahead(source.StoreName, position, page.Newest);
                }
            }

            foreach (var change in page.Changes)
            {
                position = change.Position;
                yield return change;
            }

            if (page.Changes.Count < PageSize)
            {
                // Filtered reads report only their collection's changes; the rest of the log is passed over.
                if (collection is not null && page.Newest > position)
                {
                    position = page.Newest;
                }

                await source.WaitAsync(position, cancellationToken).ConfigureAwait(false);
            }
        }
    }
}
