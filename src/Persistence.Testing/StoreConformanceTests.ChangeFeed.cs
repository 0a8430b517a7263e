namespace Persistence.Testing;

public abstract partial class StoreConformanceTests
{
    /// <summary>Gets how long a change-feed test waits for the changes it expects before it fails (default 30 s).</summary>
    protected virtual TimeSpan ChangeFeedTimeout => TimeSpan.FromSeconds(30);

    /// <summary>
    /// Creates a second instance of the store under test on the same data (another connection, another open of the same
    /// files), for the tests that show a change made through one instance reaching the other's feed.
    /// </summary>
    /// <param name="timeProvider">The clock the instance must use.</param>
    /// <returns>The second instance (the suite disposes it), or <see langword="null"/> when the store's data cannot be shared.</returns>
    protected virtual ValueTask<IStore?> CreateSecondInstanceAsync(TimeProvider timeProvider) => new((IStore?)null);

    /// <summary>A store reports <see cref="StoreCapabilities.ChangeNotifications"/> exactly when it (or the store it decorates) has a change feed.</summary>
    [Fact]
    public void ChangeFeed_Capability_MatchesTheFeed()
    {
        Assert.Equal(Store.Capabilities.HasFlag(StoreCapabilities.ChangeNotifications), Store.GetChangeFeed() is not null);
    }

    /// <summary>Puts and deletes appear in commit order, with their kinds, versions and increasing positions.</summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task ChangeFeed_PutsAndDeletes_AppearInCommitOrder()
    {
        if (Feed() is not { } feed)
        {
            return;
        }

        var start = await feed.GetPositionAsync(Token);
        await Store.PutAsync("feed", "a", Utf8("1"), cancellationToken: Token);
        await Store.PutAsync("feed", "a", Utf8("2"), cancellationToken: Token);
        await Store.PutAsync("feed", "b", Utf8("3"), cancellationToken: Token);
        await Store.DeleteAsync("feed", "a", cancellationToken: Token);
        Assert.False(await Store.DeleteAsync("feed", "never", cancellationToken: Token));

        var changes = await CollectChangesAsync(feed, null, start, 4);

        Assert.Equal(
            ["Put feed/a v1", "Put feed/a v2", "Put feed/b v1", "Delete feed/a v2"],
            changes.Select(c => $"{c.Kind} {c.Collection}/{c.Key} v{c.Version}"));
        AssertIncreasing(start, changes);
        Assert.Equal(changes[^1].Position, await feed.GetPositionAsync(Token));
    }

    /// <summary>A consumer that resumes from a position sees exactly the changes after it, and an unfinished consumer loses nothing.</summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task ChangeFeed_ResumeFromPosition_SeesExactlyTheLaterChanges()
    {
        if (Feed() is not { } feed)
        {
            return;
        }

        var start = await feed.GetPositionAsync(Token);
        for (var i = 0; i < 5; i++)
        {
            await Store.PutAsync("resume", $"k{i}", Utf8($"{i}"), cancellationToken: Token);
        }

        var all = await CollectChangesAsync(feed, null, start, 5);
        var resumed = await CollectChangesAsync(feed, null, all[1].Position, 3);
        Assert.Equal(["k2", "k3", "k4"], resumed.Select(c => c.Key));
        Assert.Equal(all.Skip(2).Select(c => c.Position), resumed.Select(c => c.Position));

        // A position survives as text, as a consumer that restarts keeps it.
        var parsed = ChangeFeedPosition.Parse(all[3].Position.ToString());
        Assert.Equal(["k4"], (await CollectChangesAsync(feed, null, parsed, 1)).Select(c => c.Key));
    }

    /// <summary>The operations of a batch appear in batch order with one shared commit; a failed batch or write appears not at all.</summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task ChangeFeed_Batch_SharesOneCommitAndFailuresAreNotReported()
    {
        if (Feed() is not { } feed)
        {
            return;
        }

        await Store.PutAsync("batch", "gone", Utf8("x"), cancellationToken: Token);
        var start = await feed.GetPositionAsync(Token);

        var failing = new WriteBatch().Put("batch", "never", Utf8("x")).Put("batch", "gone", Utf8("y"), new PutOptions { ExpectedVersion = 7 });
        await Assert.ThrowsAsync<ConcurrencyConflictException>(async () => await Store.CommitAsync(failing, Token));
        await Assert.ThrowsAsync<ConcurrencyConflictException>(async () => await Store.PutAsync("batch", "gone", Utf8("z"), new PutOptions { ExpectedVersion = 5 }, Token));

        var batch = new WriteBatch().Put("batch", "x", Utf8("1")).Put("other", "y", Utf8("2")).Delete("batch", "gone");
        await Store.CommitAsync(batch, Token);

        var changes = await CollectChangesAsync(feed, null, start, 3);
        Assert.Equal(["Put batch/x", "Put other/y", "Delete batch/gone"], changes.Select(c => $"{c.Kind} {c.Collection}/{c.Key}"));
        Assert.Single(changes.Select(c => c.Position.Commit).Distinct());
        AssertIncreasing(start, changes);
    }

    /// <summary>Watching one collection reports that collection's changes only.</summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task ChangeFeed_CollectionFilter_ReportsThatCollectionOnly()
    {
        if (Feed() is not { } feed)
        {
            return;
        }

        var start = await feed.GetPositionAsync(Token);
        await Store.PutAsync("left", "1", Utf8("1"), cancellationToken: Token);
        await Store.PutAsync("right", "2", Utf8("2"), cancellationToken: Token);
        await Store.PutAsync("left", "3", Utf8("3"), cancellationToken: Token);

        var changes = await CollectChangesAsync(feed, "left", start, 2);
        Assert.Equal(["left/1", "left/3"], changes.Select(c => $"{c.Collection}/{c.Key}"));
    }

    /// <summary>Imported entries (restore, migration) appear as puts with their imported versions.</summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task ChangeFeed_Import_AppearsAsPuts()
    {
        if (Feed() is not { } feed)
        {
            return;
        }

        var start = await feed.GetPositionAsync(Token);
        var now = Time.GetUtcNow();
        await Store.ImportAsync(
            [new StoreEntry("imported", "a", Utf8("1"), 7, now, now, null), new StoreEntry("imported", "b", Utf8("2"), 3, now, now, null)],
            ImportMode.Overwrite,
            Token);

        var changes = await CollectChangesAsync(feed, null, start, 2);
        Assert.Equal(["Put a v7", "Put b v3"], changes.Select(c => $"{c.Kind} {c.Key} v{c.Version}").Order(StringComparer.Ordinal));
    }

    /// <summary>A record that expires is reported as expired once the store reclaims it (on a purge, or when a read meets it).</summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task ChangeFeed_Expiry_IsReportedAsExpired()
    {
        if (Feed() is not { } feed)
        {
            return;
        }

        var start = await feed.GetPositionAsync(Token);
        await Store.PutAsync("expiring", "k", Utf8("1"), new PutOptions { TimeToLive = TimeSpan.FromMinutes(1) }, Token);
        Time.Advance(TimeSpan.FromMinutes(2));
        if (Store is IPurgeableStore purgeable)
        {
            await purgeable.PurgeExpiredAsync(Token);
        }

        Assert.Null(await Store.GetAsync("expiring", "k", Token));

        var changes = await CollectChangesAsync(feed, "expiring", start, 2);
        Assert.Equal(["Put k v1", "Expired k v1"], changes.Select(c => $"{c.Kind} {c.Key} v{c.Version}"));
    }

    /// <summary>A position from before the store was created, or from another store's future, is refused with a gap error.</summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task ChangeFeed_PositionAheadOfTheStore_IsAGap()
    {
        if (Feed() is not { } feed)
        {
            return;
        }

        await Store.PutAsync("ahead", "k", Utf8("1"), cancellationToken: Token);
        var newest = await feed.GetPositionAsync(Token);
        var future = new ChangeFeedPosition(newest.Commit + 1_000_000, 0);

        var error = await Assert.ThrowsAsync<ChangeFeedGapException>(async () => await CollectChangesAsync(feed, null, future, 1));
        Assert.Equal(future, error.Requested);
    }

    /// <summary>A change made through one instance reaches the other instance's feed, both ways.</summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task ChangeFeed_TwoInstances_SeeEachOthersChanges()
    {
        if (Feed() is not { } feed)
        {
            return;
        }

        await using var second = await CreateSecondInstanceAsync(Time);
        if (second is null)
        {
            return;
        }

        var secondFeed = second.GetChangeFeed();
        Assert.NotNull(secondFeed);
        var start = await feed.GetPositionAsync(Token);
        Assert.Equal(start, await secondFeed.GetPositionAsync(Token));

        await Store.PutAsync("shared", "from-first", Utf8("1"), cancellationToken: Token);
        await second.PutAsync("shared", "from-second", Utf8("2"), cancellationToken: Token);

        var seenBySecond = await CollectChangesAsync(secondFeed, "shared", start, 2);
        var seenByFirst = await CollectChangesAsync(feed, "shared", start, 2);
        Assert.Equal(["from-first", "from-second"], seenBySecond.Select(c => c.Key));
        Assert.Equal(seenBySecond.Select(c => (c.Key, c.Position)), seenByFirst.Select(c => (c.Key, c.Position)));
    }

    /// <summary>A consumer that is waiting is woken by a later write.</summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task ChangeFeed_WaitingConsumer_IsWokenByALaterWrite()
    {
        if (Feed() is not { } feed)
        {
            return;
        }

        var start = await feed.GetPositionAsync(Token);
        var consumer = CollectChangesAsync(feed, "late", start, 1);
        await Task.Yield();
        await Store.PutAsync("late", "k", Utf8("1"), cancellationToken: Token);

        Assert.Equal("k", Assert.Single(await consumer).Key);
    }

    /// <summary>Reads <paramref name="count"/> changes from a feed, failing after <see cref="ChangeFeedTimeout"/>.</summary>
    /// <param name="feed">The feed.</param>
    /// <param name="collection">The collection to watch, or <see langword="null"/> for all.</param>
    /// <param name="from">The position to start after.</param>
    /// <param name="count">How many changes to read.</param>
    /// <returns>The changes.</returns>
    protected async Task<List<StoreChange>> CollectChangesAsync(IChangeFeed feed, string? collection, ChangeFeedPosition? from, int count)
    {
        ArgumentNullException.ThrowIfNull(feed);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Token);
        timeout.CancelAfter(ChangeFeedTimeout);
        var changes = new List<StoreChange>(count);
        try
        {
            await foreach (var change in feed.WatchAsync(collection, from, timeout.Token))
            {
                changes.Add(change);
                if (changes.Count == count)
                {
                    break;
                }
            }
        }
        catch (OperationCanceledException) when (!Token.IsCancellationRequested)
        {
            Assert.Fail($"The change feed reported {changes.Count} of {count} expected changes within {ChangeFeedTimeout}: {string.Join(", ", changes.Select(c => $"{c.Kind} {c.Collection}/{c.Key}@{c.Position}"))}.");
        }

        return changes;
    }

    private static void AssertIncreasing(ChangeFeedPosition start, IReadOnlyList<StoreChange> changes)
    {
        var previous = start;
        foreach (var change in changes)
        {
            Assert.True(change.Position > previous, $"Position {change.Position} of {change.Collection}/{change.Key} does not come after {previous}.");
            previous = change.Position;
        }
    }

    private IChangeFeed? Feed() => Store.Capabilities.HasFlag(StoreCapabilities.ChangeNotifications) ? Store.GetChangeFeed() ?? throw new InvalidOperationException($"{Store.GetType().Name} reports ChangeNotifications but has no change feed.") : null;
}
