using System.Globalization;
using StackExchange.Redis;

namespace Persistence.Stores.Redis;

/// <summary>
/// The change feed: every write script appends its changes to a Redis stream in the same script, before it writes the
/// data, with stream ids <c>commit-index</c> that are the feed's positions (see <c>docs/change-feed.md</c>).
/// </summary>
public sealed partial class RedisStore
{
    private readonly Lock _feedGate = new();
    private TaskCompletionSource _written = NewSignal();
    private readonly TaskCompletionSource _closed = NewSignal();

    /// <inheritdoc />
    /// <exception cref="NotSupportedException">
    /// The store has no change feed (<see cref="RedisStoreOptions.ChangeFeed"/> is off), or it runs on a Redis Cluster whose
    /// collections are in several slot groups (each group has its own feed: watch one collection).
    /// </exception>
    public async ValueTask<ChangeFeedPosition> GetPositionAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        EnsureFeed();
        var page = await ReadFeedAsync(ChangeFeedPosition.Start, null, 0, cancellationToken).ConfigureAwait(false);
        return page.Newest;
    }

    /// <inheritdoc />
    /// <remarks>
    /// Writes through this instance wake its consumers at once; writes from other processes are found by polling the
    /// stream every <see cref="RedisStoreOptions.ChangeFeedPollInterval"/>. On a Redis Cluster each slot group has its own
    /// feed: watching one collection reads its group's feed, and watching every collection needs the store's
    /// collections in one slot group (<see cref="RedisStoreOptions.SlotGroup"/>).
    /// </remarks>
    /// <exception cref="NotSupportedException">The store has no change feed (<see cref="RedisStoreOptions.ChangeFeed"/> is off).</exception>
    public IAsyncEnumerable<StoreChange> WatchAsync(string? collection = null, ChangeFeedPosition? from = null, CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        EnsureFeed();
        if (collection is not null)
        {
            StoreNames.ValidateCollection(collection);
        }

        return ChangeFeedLoop.RunAsync(new FeedSource(this, collection), collection, from, cancellationToken);
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private void EnsureFeed()
    {
        if (!_feed)
        {
            throw new NotSupportedException($"Redis store '{Name}' keeps no change feed: {nameof(RedisStoreOptions)}.{nameof(RedisStoreOptions.ChangeFeed)} is off.");
        }
    }

    private RedisFeedKeys FeedOf(RedisCollectionKeys keys) => _cluster ? keys.GroupFeed : _storeFeed;

    // The feed's length limit and age cutoff, as the write scripts take them.
    private void SetFeedArguments(RedisValue[] values, int at, DateTimeOffset now)
    {
        values[at] = _feedMaxLength;
        values[at + 1] = _feedMaxAge is { } maxAge ? Math.Max(0, now.UtcTicks - maxAge.Ticks) : RedisValue.EmptyString;
    }

    // Wakes this instance's waiting consumers after a write (other processes' writes are found by polling).
    private void ChangesWritten()
    {
        if (!_feed)
        {
            return;
        }

        TaskCompletionSource written;
        lock (_feedGate)
        {
            written = _written;
            _written = NewSignal();
        }

        written.TrySetResult();
    }

    private void CloseChangeFeed()
        => _closed.TrySetException(new ObjectDisposedException(Name, $"The Redis store '{Name}' has been disposed; its change feed has ended."));

    private async ValueTask<RedisFeedKeys?> FeedKeysAsync(IDatabaseAsync database, string? collection, CancellationToken cancellationToken)
    {
        if (!_cluster)
        {
            return _storeFeed;
        }

        if (collection is not null)
        {
            return KeysOf(collection).GroupFeed;
        }

        // On a cluster each slot group has its own feed; the whole store has one only when all its collections share a group.
        var names = await Wait(database.SortedSetRangeByValueAsync(_registry), cancellationToken).ConfigureAwait(false);
        var groups = names.Select(name => (string)name!).Where(StoreNames.IsValidCollection).Select(KeysOf).DistinctBy(keys => keys.Group, StringComparer.Ordinal).ToList();
        return groups.Count switch
        {
            0 => null,
            1 => groups[0].GroupFeed,
            _ => throw new NotSupportedException(
                $"Redis store '{Name}' runs on a Redis Cluster with collections in {groups.Count} slot groups ({string.Join(", ", groups.Take(5).Select(keys => $"'{keys.Group}'"))}), and each group has its own change feed. " +
                $"Watch one collection, or keep the store in one slot group with {nameof(RedisStoreOptions)}.{nameof(RedisStoreOptions.SlotGroup)}."),
        };
    }

    private async ValueTask<ChangeLogPage> ReadFeedAsync(ChangeFeedPosition after, string? collection, int limit, CancellationToken cancellationToken)
    {
        RedisResult[] result;
        try
        {
            var database = await DatabaseAsync(cancellationToken).ConfigureAwait(false);
            if (await FeedKeysAsync(database, collection, cancellationToken).ConfigureAwait(false) is not { } feed)
            {
                return new ChangeLogPage([], null, ChangeFeedPosition.Start);
            }

            result = (RedisResult[])(await Wait(RedisScripts.ReadFeed.EvaluateAsync(database, [feed.Stream, feed.Hash], [after.ToString(), limit], this), cancellationToken).ConfigureAwait(false))!;
        }
        catch (Exception ex) when (IsRedisFailure(ex))
        {
            throw Translate(ex, "read the change feed", null, null);
        }

        var newest = PositionOf(result[0]) ?? ChangeFeedPosition.Start;
        var trimmed = PositionOf(result[1]);
        var count = (result.Length - 2) / 6;
        var changes = new List<StoreChange>(count);
        for (var i = 0; i < count; i++)
        {
            var at = 2 + (i * 6);
            var changeCollection = (string)result[at + 1]!;
            if (collection is not null && !string.Equals(changeCollection, collection, StringComparison.Ordinal))
            {
                continue;
            }

            changes.Add(ToChange(result, at, changeCollection));
        }

        // A filtered page may hold fewer changes than it read: report the last entry read as the newest, so the loop
        // moves past the other collections' changes it read and never past ones it did not.
        if (count > 0 && count == limit)
        {
            newest = PositionOf(result[2 + ((count - 1) * 6)]) ?? newest;
        }

        return new ChangeLogPage(changes, trimmed, newest);
    }

    private StoreChange ToChange(RedisResult[] result, int at, string collection)
    {
        var position = PositionOf(result[at]) ?? throw CorruptFeed((string?)result[at]);
        var key = (string)result[at + 2]!;
        var kind = (string?)result[at + 3] switch
        {
            "p" => StoreChangeKind.Put,
            "d" => StoreChangeKind.Delete,
            "x" => StoreChangeKind.Expired,
            var other => throw CorruptFeed($"{position} (kind '{other}')"),
        };
        if (!long.TryParse((string?)result[at + 4], NumberStyles.None, CultureInfo.InvariantCulture, out var version)
            || !long.TryParse((string?)result[at + 5], NumberStyles.None, CultureInfo.InvariantCulture, out var ticks)
            || ticks > DateTimeOffset.MaxValue.UtcTicks)
        {
            throw CorruptFeed(position.ToString());
        }

        return new StoreChange(collection, key, kind, version, position, new DateTimeOffset(ticks, TimeSpan.Zero));
    }

    private StoreCorruptedException CorruptFeed(string? entry)
        => new($"Redis store '{Name}': the change feed entry {entry} cannot be read.", null, null, null);

    private static ChangeFeedPosition? PositionOf(RedisResult value)
        => !value.IsNull && ChangeFeedPosition.TryParse((string?)value, out var position) ? position : null;

    private async ValueTask WaitForChangesAsync(ChangeFeedPosition after, string? collection, CancellationToken cancellationToken)
    {
        while (true)
        {
            Task written;
            lock (_feedGate)
            {
                written = _written.Task;
            }

            ThrowIfDisposed();
            var page = await ReadFeedAsync(after, collection, 0, cancellationToken).ConfigureAwait(false);
            if (page.Newest > after)
            {
                return;
            }

            // Wall-clock polling, whatever the store's clock: another process's write has no other way to reach us.
            using var poll = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var delay = Task.Delay(_feedPollInterval, poll.Token);
            var woken = await Task.WhenAny(written, delay, _closed.Task).ConfigureAwait(false);
            await poll.CancelAsync().ConfigureAwait(false);
            if (woken == _closed.Task)
            {
                await _closed.Task.ConfigureAwait(false);
            }

            cancellationToken.ThrowIfCancellationRequested();
        }
    }

    /// <summary>The store's change feed as the shared <see cref="ChangeFeedLoop"/> reads it.</summary>
    /// <remarks>On a cluster the watched collection decides which slot group's feed is read.</remarks>
    private sealed class FeedSource(RedisStore store, string? watched) : IChangeLogSource
    {
        public string StoreName => store.Name;

        public async ValueTask<ChangeFeedPosition> GetPositionAsync(CancellationToken cancellationToken)
            => (await store.ReadFeedAsync(ChangeFeedPosition.Start, watched, 0, cancellationToken).ConfigureAwait(false)).Newest;

        public ValueTask<ChangeLogPage> ReadAfterAsync(ChangeFeedPosition after, string? collection, int limit, CancellationToken cancellationToken)
            => store.ReadFeedAsync(after, collection, limit, cancellationToken);

        public ValueTask WaitAsync(ChangeFeedPosition after, CancellationToken cancellationToken)
            => store.WaitForChangesAsync(after, watched, cancellationToken);
    }
}
