using System.Globalization;
using System.Text;
using FluentAssertions;
using Persistence.Stores.Json;

namespace Persistence.FileStorage.Tests;

/// <summary>
/// Group commit of the file stores: writes that queue while the root's write lock is taken are written together, each
/// with its own version check and outcome. Groups are formed deterministically by holding the write lock while the
/// writes queue, then letting it go.
/// </summary>
public sealed class FileStoreGroupCommitTests : IDisposable
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);
    private readonly TempDirectory _root = new();

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public void Dispose() => _root.Dispose();

    [Fact]
    public void Options_GroupCommitIsOnByDefault_AndNeedsNoValidation()
    {
        new JsonFileStoreOptions().GroupCommit.Should().BeTrue();
        new JsonFileStoreOptions { RootPath = _root.Path, GroupCommit = false }.GetValidationErrors().Should().BeEmpty();
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Store_ReportsTheOption(bool groupCommit)
    {
        await using var store = Open(FileLayout.FilePerRecord, groupCommit);
        store.GroupCommit.Should().Be(groupCommit);
    }

    [Theory]
    [InlineData(FileLayout.FilePerRecord)]
    [InlineData(FileLayout.SingleFile)]
    public async Task PutAsync_OneWriterAtATime_NeverFormsAGroup(FileLayout layout)
    {
        await using var store = Open(layout);
        for (var i = 0; i < 9; i++)
        {
            await store.PutAsync("items", $"k{i % 3}", Json(i), cancellationToken: Token);
            await store.DeleteAsync("items", $"gone{i}", cancellationToken: Token);
        }

        store.GroupsCommitted.Should().Be(0, "a write that finds the store idle runs alone, as without group commit");
        (await store.GetAsync("items", "k0", Token))!.Version.Should().Be(3);
    }

    [Theory]
    [InlineData(FileLayout.FilePerRecord)]
    [InlineData(FileLayout.FilePerCollection)]
    [InlineData(FileLayout.SingleFile)]
    public async Task PutAsync_WritesQueuedWhileTheStoreIsBusy_AreWrittenInOneGroupEachWithItsOwnVersion(FileLayout layout)
    {
        await using var store = Open(layout, durability: FileDurability.FlushToDisk);
        await store.PutAsync("items", "existing", Json(0), cancellationToken: Token);

        var hold = await store.HoldWriteLockAsync();
        var puts = Enumerable.Range(0, 10)
            .Select(i => store.PutAsync(i % 3 == 2 ? "other" : "items", i % 2 == 0 ? "existing" : $"new{i}", Json(i), cancellationToken: Token).AsTask())
            .ToList();
        await WaitForQueueAsync(store, 10);
        hold.Dispose();
        var versions = await Task.WhenAll(puts).WaitAsync(Guard, Token);

        // items/existing: 0, 4, 6 (versions 2, 3, 4); other/existing: 2, 8 (1, 2); the odd ones are new.
        versions.Should().Equal(2, 1, 1, 1, 3, 1, 4, 1, 2, 1);
        store.GroupsCommitted.Should().Be(1);
        store.OperationsGrouped.Should().Be(10);
        var existing = await store.GetAsync("items", "existing", Token);
        existing!.Version.Should().Be(4);
        Encoding.UTF8.GetString(existing.Payload.Span).Should().Be("{\"i\":6}");
        (await store.GetAsync("other", "existing", Token))!.Version.Should().Be(2);
        (await store.CountAsync("items", Token)).Should().Be(5);
        Directory.EnumerateFiles(_root.Path, "*.tmp", SearchOption.AllDirectories).Should().BeEmpty();
        File.Exists(_root.Combine(".journal")).Should().BeFalse();
    }

    [Theory]
    [InlineData(FileLayout.FilePerRecord)]
    [InlineData(FileLayout.FilePerCollection)]
    [InlineData(FileLayout.SingleFile)]
    public async Task Group_WithVersionConflicts_FailsOnlyTheConflictingWrites(FileLayout layout)
    {
        await using var store = Open(layout);
        await store.PutAsync("items", "a", Json(0), cancellationToken: Token);
        await store.PutAsync("items", "b", Json(0), cancellationToken: Token);

        var hold = await store.HoldWriteLockAsync();
        var first = store.PutAsync("items", "a", Json(1), new PutOptions { ExpectedVersion = 1 }, Token).AsTask();
        var stale = store.PutAsync("items", "a", Json(2), new PutOptions { ExpectedVersion = 1 }, Token).AsTask();
        var wrongB = store.PutAsync("items", "b", Json(3), new PutOptions { ExpectedVersion = 7 }, Token).AsTask();
        var create = store.PutAsync("items", "c", Json(4), new PutOptions { ExpectedVersion = 0 }, Token).AsTask();
        var createAgain = store.PutAsync("items", "c", Json(5), new PutOptions { ExpectedVersion = 0 }, Token).AsTask();
        var deleteB = store.DeleteAsync("items", "b", 1, Token).AsTask();
        var deleteMissing = store.DeleteAsync("items", "missing", cancellationToken: Token).AsTask();
        var deleteStale = store.DeleteAsync("items", "a", 1, Token).AsTask();
        await WaitForQueueAsync(store, 8);
        hold.Dispose();

        (await first.WaitAsync(Guard, Token)).Should().Be(2);
        (await stale.Invoking(t => t).Should().ThrowAsync<ConcurrencyConflictException>()).Which.ActualVersion.Should().Be(2);
        (await wrongB.Invoking(t => t).Should().ThrowAsync<ConcurrencyConflictException>()).Which.ActualVersion.Should().Be(1);
        (await create).Should().Be(1);
        (await createAgain.Invoking(t => t).Should().ThrowAsync<ConcurrencyConflictException>()).Which.ActualVersion.Should().Be(1);
        (await deleteB).Should().BeTrue();
        (await deleteMissing).Should().BeFalse();
        (await deleteStale.Invoking(t => t).Should().ThrowAsync<ConcurrencyConflictException>()).Which.ActualVersion.Should().Be(2);
        store.GroupsCommitted.Should().Be(1);

        Encoding.UTF8.GetString((await store.GetAsync("items", "a", Token))!.Payload.Span).Should().Be("{\"i\":1}");
        (await store.GetAsync("items", "b", Token)).Should().BeNull();
        Encoding.UTF8.GetString((await store.GetAsync("items", "c", Token))!.Payload.Span).Should().Be("{\"i\":4}");
    }

    [Fact]
    public async Task Group_AFileThatCannotBeWritten_FailsEveryCallerOfTheGroup_AndLeavesNoTemporaryFile()
    {
        await using var store = Open(FileLayout.FilePerRecord);
        await store.PutAsync("items", "seed", Json(0), cancellationToken: Token);

        // A plain file where the collection's directory should be: its record cannot be written.
        await File.WriteAllTextAsync(_root.Combine("blocked"), "not a directory", Token);

        var hold = await store.HoldWriteLockAsync();
        var before = store.PutAsync("items", "before", Json(1), cancellationToken: Token).AsTask();
        var blocked = store.PutAsync("blocked", "k", Json(2), cancellationToken: Token).AsTask();
        var seed = store.PutAsync("items", "seed", Json(3), cancellationToken: Token).AsTask();
        await WaitForQueueAsync(store, 3);
        hold.Dispose();

        foreach (var failed in new[] { before, blocked, seed })
        {
            await failed.Invoking(t => t.WaitAsync(Guard, Token)).Should().ThrowAsync<IOException>("the group is acknowledged whole or not at all");
        }

        (await store.GetAsync("items", "seed", Token))!.Version.Should().Be(1);
        Directory.EnumerateFiles(_root.Path, "*.tmp", SearchOption.AllDirectories).Should().BeEmpty();
        (await store.PutAsync("items", "later", Json(4), cancellationToken: Token)).Should().Be(1);
    }

    [Theory]
    [InlineData(FileLayout.FilePerRecord)]
    [InlineData(FileLayout.SingleFile)]
    public async Task PutAsync_CancelledWhileQueued_IsNotWritten_AndItsNeighboursAre(FileLayout layout)
    {
        await using var store = Open(layout);
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(Token);

        var hold = await store.HoldWriteLockAsync();
        var kept = store.PutAsync("items", "kept", Json(1), cancellationToken: Token).AsTask();
        var cancelled = store.PutAsync("items", "cancelled", Json(2), cancellationToken: cancel.Token).AsTask();
        var deleteCancelled = store.DeleteAsync("items", "kept", cancellationToken: cancel.Token).AsTask();
        var alsoKept = store.PutAsync("items", "also-kept", Json(3), cancellationToken: Token).AsTask();
        await WaitForQueueAsync(store, 4);
        await cancel.CancelAsync();
        await cancelled.Invoking(t => t).Should().ThrowAsync<OperationCanceledException>();
        await deleteCancelled.Invoking(t => t).Should().ThrowAsync<OperationCanceledException>();
        hold.Dispose();

        (await kept.WaitAsync(Guard, Token)).Should().Be(1);
        (await alsoKept.WaitAsync(Guard, Token)).Should().Be(1);
        (await store.GetAsync("items", "cancelled", Token)).Should().BeNull("a write cancelled before its group took it is never written");
        (await store.GetAsync("items", "kept", Token)).Should().NotBeNull("the cancelled delete was not run");
    }

    [Fact]
    public async Task PutAsync_WithGroupCommitOff_QueuedWritesRunOneByOne()
    {
        await using var store = Open(FileLayout.FilePerRecord, groupCommit: false);
        var hold = await store.HoldWriteLockAsync();
        var puts = Enumerable.Range(0, 4).Select(i => store.PutAsync("items", "k", Json(i), cancellationToken: Token).AsTask()).ToList();
        store.QueuedWrites.Should().Be(0);
        hold.Dispose();

        (await Task.WhenAll(puts).WaitAsync(Guard, Token)).Should().BeEquivalentTo([1L, 2L, 3L, 4L]);
        store.GroupsCommitted.Should().Be(0);
    }

    [Fact]
    public async Task Group_LockNotFreeWithinTheTimeout_FailsEveryQueuedCallerUnavailable()
    {
        await using var store = new JsonFileStore(new JsonFileStoreOptions { RootPath = _root.Path, Durability = FileDurability.None, LockTimeout = TimeSpan.FromMilliseconds(200) });
        using var hold = await store.HoldWriteLockAsync();
        var puts = Enumerable.Range(0, 3).Select(i => store.PutAsync("items", $"k{i}", Json(i), cancellationToken: Token).AsTask()).ToList();

        foreach (var put in puts)
        {
            await put.Invoking(t => t.WaitAsync(Guard, Token)).Should().ThrowAsync<StoreUnavailableException>();
        }

        store.QueuedWrites.Should().Be(0);
    }

    [Fact]
    public async Task Group_StoreDisposedWhileWritesQueue_FailsThemDisposed_AndWritesNothing()
    {
        // A second store on the root keeps the shared root (and its lock) open after the first is disposed.
        await using var other = Open(FileLayout.FilePerRecord);
        var store = Open(FileLayout.FilePerRecord);
        var hold = await other.HoldWriteLockAsync();
        var puts = Enumerable.Range(0, 3).Select(i => store.PutAsync("items", $"k{i}", Json(i), cancellationToken: Token).AsTask()).ToList();
        await WaitForQueueAsync(store, 3);
        await store.DisposeAsync();
        hold.Dispose();

        foreach (var put in puts)
        {
            await put.Invoking(t => t.WaitAsync(Guard, Token)).Should().ThrowAsync<ObjectDisposedException>();
        }

        (await other.CountAsync("items", Token)).Should().Be(0);
        await store.Invoking(s => s.PutAsync("items", "late", Json(9), cancellationToken: Token).AsTask()).Should().ThrowAsync<ObjectDisposedException>();
    }

    [Theory]
    [InlineData(FileLayout.FilePerRecord)]
    [InlineData(FileLayout.FilePerCollection)]
    [InlineData(FileLayout.SingleFile)]
    public async Task Group_ChangeFeed_SeesEachGroupedWriteOnce(FileLayout layout)
    {
        await using var store = Open(layout);
        await store.PutAsync("items", "gone", Json(0), cancellationToken: Token);
        var start = await store.GetPositionAsync(Token);

        var hold = await store.HoldWriteLockAsync();
        var a1 = store.PutAsync("items", "a", Json(1), cancellationToken: Token).AsTask();
        var a2 = store.PutAsync("items", "a", Json(2), cancellationToken: Token).AsTask();
        var conflict = store.PutAsync("items", "b", Json(3), new PutOptions { ExpectedVersion = 5 }, Token).AsTask();
        var delete = store.DeleteAsync("items", "gone", cancellationToken: Token).AsTask();
        var c = store.PutAsync("items", "c", Json(4), cancellationToken: Token).AsTask();
        await WaitForQueueAsync(store, 5);
        hold.Dispose();
        (await a1.WaitAsync(Guard, Token)).Should().Be(1);
        (await a2.WaitAsync(Guard, Token)).Should().Be(2);
        await conflict.Invoking(t => t.WaitAsync(Guard, Token)).Should().ThrowAsync<ConcurrencyConflictException>();
        (await delete.WaitAsync(Guard, Token)).Should().BeTrue();
        (await c.WaitAsync(Guard, Token)).Should().Be(1);
        store.GroupsCommitted.Should().Be(1);

        // A write after the group marks the end: everything the feed gives before it is the group's.
        await store.PutAsync("items", "end", Json(5), cancellationToken: Token);
        var seen = new List<StoreChange>();
        using var guard = CancellationTokenSource.CreateLinkedTokenSource(Token);
        guard.CancelAfter(Guard);
        await foreach (var change in store.WatchAsync("items", start, guard.Token))
        {
            if (change.Key == "end")
            {
                break;
            }

            seen.Add(change);
        }

        seen.Select(c => (c.Kind, c.Key, c.Version)).Should().Equal(
            (StoreChangeKind.Put, "a", 1L),
            (StoreChangeKind.Put, "a", 2L),
            (StoreChangeKind.Delete, "gone", 1L),
            (StoreChangeKind.Put, "c", 1L));
        seen.Select(c => c.Position).Should().OnlyHaveUniqueItems();
    }

    [Theory]
    [InlineData(FileLayout.FilePerRecord, true)]
    [InlineData(FileLayout.FilePerRecord, false)]
    [InlineData(FileLayout.FilePerCollection, true)]
    [InlineData(FileLayout.FilePerCollection, false)]
    [InlineData(FileLayout.SingleFile, true)]
    [InlineData(FileLayout.SingleFile, false)]
    public async Task PutAsync_SixteenConcurrentCasIncrements_EndAtTheExactTotal(FileLayout layout, bool groupCommit)
    {
        const int writers = 16;
        const int increments = 8;
        await using var store = Open(layout, groupCommit);

        var tasks = Enumerable.Range(0, writers).Select(w => Task.Run(
            async () =>
            {
                for (var i = 0; i < increments; i++)
                {
                    // One counter shared by all, and one of the writer's own (other collection) so groups mix files.
                    await IncrementAsync(store, "counters", "n");
                    await IncrementAsync(store, $"own{w % 4}", $"w{w}");
                }
            },
            Token));
        await Task.WhenAll(tasks).WaitAsync(TimeSpan.FromMinutes(2), Token);

        var counter = await store.GetAsync("counters", "n", Token);
        Encoding.UTF8.GetString(counter!.Payload.Span).Should().Be((writers * increments).ToString(CultureInfo.InvariantCulture));
        counter.Version.Should().Be(writers * increments);
        for (var w = 0; w < writers; w++)
        {
            (await store.GetAsync($"own{w % 4}", $"w{w}", Token))!.Version.Should().Be(increments);
        }

        if (!groupCommit)
        {
            store.GroupsCommitted.Should().Be(0);
        }
    }

    private static async Task IncrementAsync(JsonFileStore store, string collection, string key)
    {
        while (true)
        {
            var current = await store.GetAsync(collection, key, Token);
            var value = current is null ? 0 : int.Parse(Encoding.UTF8.GetString(current.Payload.Span), CultureInfo.InvariantCulture);
            try
            {
                await store.PutAsync(collection, key, Encoding.UTF8.GetBytes((value + 1).ToString(CultureInfo.InvariantCulture)), new PutOptions { ExpectedVersion = current?.Version ?? 0 }, Token);
                return;
            }
            catch (ConcurrencyConflictException)
            {
            }
        }
    }

    private static async Task WaitForQueueAsync(FileStore store, int count)
    {
        using var guard = CancellationTokenSource.CreateLinkedTokenSource(Token);
        guard.CancelAfter(Guard);
        while (store.QueuedWrites < count)
        {
            guard.IsCancellationRequested.Should().BeFalse($"{count} writes should have queued");
            await Task.Delay(5, Token);
        }
    }

    private static byte[] Json(int i) => Encoding.UTF8.GetBytes($"{{\"i\":{i}}}");

    private JsonFileStore Open(FileLayout layout, bool groupCommit = true, FileDurability durability = FileDurability.None)
        => new(new JsonFileStoreOptions { RootPath = _root.Path, Layout = layout, GroupCommit = groupCommit, Durability = durability });
}
