using System.Globalization;
using System.Text;
using FluentAssertions;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Time.Testing;

namespace Persistence.Stores.Sqlite.Tests;

/// <summary>
/// Group commit: writes that queue while the store is writing are committed together in one transaction, each with its
/// own version check and outcome. Groups are formed deterministically by holding the store's write lock while the writes
/// queue, then letting it go.
/// </summary>
public sealed class SqliteStoreGroupCommitTests : IDisposable
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);
    private readonly TempDirectory _root = new();

    private string DataSource => _root.Combine("store.db");

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _root.Dispose();
    }

    [Fact]
    public void Options_GroupCommitIsOnByDefault_AndTheStoreReportsIt()
    {
        new SqliteStoreOptions().GroupCommit.Should().BeTrue();
        new SqliteStoreOptions { DataSource = "x.db", GroupCommit = false }.GetValidationErrors().Should().BeEmpty();
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Store_ReportsTheOption(bool groupCommit)
    {
        await using var store = Open(groupCommit);
        store.GroupCommit.Should().Be(groupCommit);
    }

    [Fact]
    public async Task PutAsync_OneWriterAtATime_NeverFormsAGroup()
    {
        await using var store = Open();
        for (var i = 0; i < 20; i++)
        {
            await store.PutAsync("items", $"k{i % 3}", Json(i), cancellationToken: Token);
            await store.DeleteAsync("items", $"gone{i}", cancellationToken: Token);
        }

        store.GroupsCommitted.Should().Be(0, "a write that finds the store idle runs alone, as without group commit");
        (await store.GetAsync("items", "k0", Token))!.Version.Should().Be(7);
    }

    [Fact]
    public async Task PutAsync_WritesQueuedWhileTheStoreIsBusy_AreCommittedInOneGroupEachWithItsOwnVersion()
    {
        await using var store = Open();
        await store.PutAsync("items", "existing", Json(0), cancellationToken: Token);

        var hold = await store.HoldWriteLockAsync();
        var puts = Enumerable.Range(0, 10).Select(i => store.PutAsync("items", i % 2 == 0 ? "existing" : $"new{i}", Json(i), cancellationToken: Token).AsTask()).ToList();
        await WaitForQueueAsync(store, 10);
        hold.Dispose();
        var versions = await Task.WhenAll(puts);

        versions.Should().Equal(2, 1, 3, 1, 4, 1, 5, 1, 6, 1);
        store.GroupsCommitted.Should().Be(1);
        store.OperationsGrouped.Should().Be(10);
        var existing = await store.GetAsync("items", "existing", Token);
        existing!.Version.Should().Be(6);
        Encoding.UTF8.GetString(existing.Payload.Span).Should().Be("{\"i\":8}");
    }

    [Fact]
    public async Task Group_WithVersionConflicts_FailsOnlyTheConflictingWrites()
    {
        await using var store = Open();
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

        (await first).Should().Be(2);
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
    public async Task Group_APutThatFailsInTheMiddle_DoesNotFailItsNeighbours()
    {
        await using var store = Open();
        await store.PutAsync("items", "seed", Json(0), cancellationToken: Token);
        Execute("CREATE TRIGGER refuse_bad BEFORE INSERT ON entries WHEN NEW.key = 'bad' BEGIN SELECT RAISE(ABORT, 'refused by the test'); END");

        var hold = await store.HoldWriteLockAsync();
        var before = store.PutAsync("items", "before", Json(1), cancellationToken: Token).AsTask();
        var bad = store.PutAsync("items", "bad", Json(2), cancellationToken: Token).AsTask();
        var after = store.PutAsync("items", "after", Json(3), cancellationToken: Token).AsTask();
        var seed = store.PutAsync("items", "seed", Json(4), cancellationToken: Token).AsTask();
        await WaitForQueueAsync(store, 4);
        hold.Dispose();

        (await before).Should().Be(1);
        var thrown = await bad.Invoking(t => t).Should().ThrowAsync<PersistenceException>();
        thrown.Which.Message.Should().Contain("items/bad").And.Contain("refused by the test");
        (await after).Should().Be(1);
        (await seed).Should().Be(2);
        store.GroupsCommitted.Should().Be(1);
        (await store.GetAsync("items", "bad", Token)).Should().BeNull();
        (await store.CountAsync("items", Token)).Should().Be(3);
    }

    [Fact]
    public async Task Group_AWriteThatRollsTheWholeTransactionBack_FailsTheGroupAndWritesNothing_ThenTheStoreWritesAgain()
    {
        await using var store = Open();
        Execute("CREATE TRIGGER roll_back_all BEFORE INSERT ON entries WHEN NEW.key = 'poison' BEGIN SELECT RAISE(ROLLBACK, 'rolled back by the test'); END");

        var hold = await store.HoldWriteLockAsync();
        var before = store.PutAsync("items", "before", Json(1), cancellationToken: Token).AsTask();
        var poison = store.PutAsync("items", "poison", Json(2), cancellationToken: Token).AsTask();
        var after = store.PutAsync("items", "after", Json(3), cancellationToken: Token).AsTask();
        await WaitForQueueAsync(store, 3);
        hold.Dispose();

        foreach (var failed in new[] { before, poison, after })
        {
            (await failed.Invoking(t => t).Should().ThrowAsync<PersistenceException>()).Which.Message.Should().Contain("rolled back by the test");
        }

        (await store.CountAsync("items", Token)).Should().Be(0, "SQLite rolled the group's transaction back: none of it is written, and no caller was told otherwise");
        (await store.PutAsync("items", "later", Json(4), cancellationToken: Token)).Should().Be(1);
    }

    [Fact]
    public async Task Group_AnotherConnectionHoldsTheDatabaseLock_EachWriteFailsUnavailableNamingItsKey_AndIsLoggedOnce()
    {
        var logger = new RecordingLogger();
        await using var store = new SqliteStore(new SqliteStoreOptions { DataSource = DataSource, BusyTimeout = TimeSpan.FromMilliseconds(200) }, "grouped", loggerFactory: logger);
        using var holder = new SqliteConnection($"Data Source={DataSource};Pooling=False");
        holder.Open();
        Execute(holder, "BEGIN IMMEDIATE");

        var hold = await store.HoldWriteLockAsync();
        var puts = Enumerable.Range(0, 3).Select(i => store.PutAsync("items", $"k{i}", Json(i), cancellationToken: Token).AsTask()).ToList();
        await WaitForQueueAsync(store, 3);
        hold.Dispose();

        for (var i = 0; i < puts.Count; i++)
        {
            var thrown = await puts[i].Invoking(t => t).Should().ThrowAsync<StoreUnavailableException>();
            thrown.Which.Message.Should().Contain($"items/k{i}").And.Contain(store.DataSource);
        }

        logger.Entries.Where(e => e.EventId.Id == 6303).Should().HaveCount(3, "each write that failed on the busy timeout is logged, as without group commit");
        Execute(holder, "ROLLBACK");
        (await store.PutAsync("items", "k0", Json(9), cancellationToken: Token)).Should().Be(1, "nothing of the failed group was written");
    }

    [Fact]
    public async Task PutAsync_CancelledWhileQueued_IsNotWritten_AndItsNeighboursAre()
    {
        await using var store = Open();
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

        (await kept).Should().Be(1);
        (await alsoKept).Should().Be(1);
        (await store.GetAsync("items", "cancelled", Token)).Should().BeNull("a write cancelled before its group took it is never written");
        (await store.GetAsync("items", "kept", Token)).Should().NotBeNull("the cancelled delete was not run");
    }

    [Fact]
    public async Task PutAsync_CancelledAfterItsGroupTookIt_CompletesAndIsWritten()
    {
        var clock = new CancellingClock();
        await using var store = new SqliteStore(new SqliteStoreOptions { DataSource = DataSource }, timeProvider: clock);
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(Token);

        var hold = await store.HoldWriteLockAsync();
        var taken = store.PutAsync("items", "taken", Json(1), cancellationToken: cancel.Token).AsTask();
        var other = store.PutAsync("items", "other", Json(2), cancellationToken: Token).AsTask();
        await WaitForQueueAsync(store, 2);

        // The first write reads the clock inside the group's transaction, after the drain took it: that cancels its token.
        clock.CancelOnNextRead = cancel;
        hold.Dispose();

        (await taken).Should().Be(1, "a write its group has taken completes with its real outcome");
        (await other).Should().Be(1);
        cancel.IsCancellationRequested.Should().BeTrue();
        (await store.GetAsync("items", "taken", Token)).Should().NotBeNull();
    }

    [Fact]
    public async Task PutAsync_WithGroupCommitOff_QueuedWritesRunOneByOne()
    {
        await using var store = Open(groupCommit: false);
        var hold = await store.HoldWriteLockAsync();
        var puts = Enumerable.Range(0, 4).Select(i => store.PutAsync("items", "k", Json(i), cancellationToken: Token).AsTask()).ToList();
        store.QueuedWrites.Should().Be(0);
        hold.Dispose();

        (await Task.WhenAll(puts)).Should().BeEquivalentTo([1L, 2L, 3L, 4L]);
        store.GroupsCommitted.Should().Be(0);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task PutAsync_ManyConcurrentCasIncrementsOnOneKey_EndAtTheExactTotal(bool groupCommit)
    {
        const int writers = 8;
        const int increments = 25;
        await using var store = Open(groupCommit, SqliteSynchronousMode.Full);
        var conflicts = 0;

        var tasks = Enumerable.Range(0, writers).Select(_ => Task.Run(
            async () =>
            {
                for (var i = 0; i < increments; i++)
                {
                    while (true)
                    {
                        var current = await store.GetAsync("counters", "n", Token);
                        var value = current is null ? 0 : int.Parse(Encoding.UTF8.GetString(current.Payload.Span), CultureInfo.InvariantCulture);
                        try
                        {
                            await store.PutAsync("counters", "n", Encoding.UTF8.GetBytes((value + 1).ToString(CultureInfo.InvariantCulture)), new PutOptions { ExpectedVersion = current?.Version ?? 0 }, Token);
                            break;
                        }
                        catch (ConcurrencyConflictException)
                        {
                            Interlocked.Increment(ref conflicts);
                        }
                    }
                }
            },
            Token));
        await Task.WhenAll(tasks);

        var counter = await store.GetAsync("counters", "n", Token);
        Encoding.UTF8.GetString(counter!.Payload.Span).Should().Be((writers * increments).ToString(CultureInfo.InvariantCulture));
        counter.Version.Should().Be(writers * increments);
    }

    [Fact]
    public async Task PutAndDelete_ManyConcurrentWritersOnTheirOwnKeys_EveryWriteLands()
    {
        const int writers = 16;
        const int writes = 30;
        await using var store = Open(synchronous: SqliteSynchronousMode.Full);

        var tasks = Enumerable.Range(0, writers).Select(w => Task.Run(
            async () =>
            {
                for (var i = 0; i < writes; i++)
                {
                    var version = await store.PutAsync("items", $"w{w}", Json(i), cancellationToken: Token);
                    version.Should().Be(i + 1);
                    await store.PutAsync("scratch", $"w{w}-{i}", Json(i), cancellationToken: Token);
                    (await store.DeleteAsync("scratch", $"w{w}-{i}", cancellationToken: Token)).Should().BeTrue();
                }
            },
            Token));
        await Task.WhenAll(tasks);

        for (var w = 0; w < writers; w++)
        {
            (await store.GetAsync("items", $"w{w}", Token))!.Version.Should().Be(writes);
        }

        (await store.CountAsync("scratch", Token)).Should().Be(0);
    }

    [Fact]
    public async Task DisposeAsync_WithWritesQueued_CompletesEveryCaller()
    {
        var store = Open();
        var hold = await store.HoldWriteLockAsync();
        var puts = Enumerable.Range(0, 3).Select(i => store.PutAsync("items", $"k{i}", Json(i), cancellationToken: Token).AsTask()).ToList();
        await WaitForQueueAsync(store, 3);
        var disposing = store.DisposeAsync().AsTask();
        hold.Dispose();
        await disposing.WaitAsync(Guard, Token);

        foreach (var put in puts)
        {
            // Each either made it in before the store closed or reports the store disposed; none is left waiting.
            var completed = await Task.WhenAny(put, Task.Delay(Guard, Token));
            completed.Should().BeSameAs(put);
            if (put.IsFaulted)
            {
                put.Exception!.InnerException.Should().BeOfType<ObjectDisposedException>();
            }
        }
    }

    private SqliteStore Open(bool groupCommit = true, SqliteSynchronousMode synchronous = SqliteSynchronousMode.Normal)
        => new(new SqliteStoreOptions { DataSource = DataSource, GroupCommit = groupCommit, Synchronous = synchronous });

    private static async Task WaitForQueueAsync(SqliteStore store, int count)
    {
        var deadline = DateTime.UtcNow + Guard;
        while (store.QueuedWrites < count)
        {
            DateTime.UtcNow.Should().BeBefore(deadline, $"{count} writes should have queued");
            await Task.Delay(5, Token);
        }
    }

    private void Execute(string sql)
    {
        using var connection = new SqliteConnection($"Data Source={DataSource};Pooling=False");
        connection.Open();
        Execute(connection, sql);
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static byte[] Json(int i) => Encoding.UTF8.GetBytes($"{{\"i\":{i}}}");

    /// <summary>A clock that cancels a token the first time it is read after being armed.</summary>
    private sealed class CancellingClock : TimeProvider
    {
        private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

        private CancellationTokenSource? _cancelOnNextRead;

        public CancellationTokenSource? CancelOnNextRead
        {
            get => Volatile.Read(ref _cancelOnNextRead);
            set => Volatile.Write(ref _cancelOnNextRead, value);
        }

        public override DateTimeOffset GetUtcNow()
        {
            Interlocked.Exchange(ref _cancelOnNextRead, null)?.Cancel();
            return _time.GetUtcNow();
        }
    }
}
