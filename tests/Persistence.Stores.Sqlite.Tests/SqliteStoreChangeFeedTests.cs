using System.Diagnostics;
using System.Globalization;
using System.Text;
using FluentAssertions;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Time.Testing;
using Persistence.Stores.Json.Tests;

namespace Persistence.Stores.Sqlite.Tests;

/// <summary>
/// The SQLite store's change feed beyond the conformance kit: the log written in the write's transaction (group commit
/// savepoints included), trimming and gaps, the schema migration, the switch that turns it off, and consumers in other
/// processes (a writer process, a consumer killed and resumed).
/// </summary>
public sealed class SqliteStoreChangeFeedTests : IDisposable
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(60);
    private readonly TempDirectory _root = new();

    private string DataSource => _root.Combine("store.db");

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _root.Dispose();
    }

    [Fact]
    public void Options_Defaults_AndValidation()
    {
        var defaults = new SqliteStoreOptions();
        defaults.ChangeFeed.Should().BeFalse();
        defaults.ChangeFeedRetentionCount.Should().Be(100_000);
        defaults.ChangeFeedRetentionAge.Should().Be(TimeSpan.FromDays(7));
        defaults.ChangeFeedPollInterval.Should().BeLessThanOrEqualTo(TimeSpan.FromMilliseconds(50));

        var invalid = new SqliteStoreOptions
        {
            DataSource = "x.db",
            ChangeFeedRetentionCount = 0,
            ChangeFeedRetentionAge = TimeSpan.Zero,
            ChangeFeedPollInterval = TimeSpan.Zero,
        };
        invalid.GetValidationErrors().Should().HaveCount(3)
            .And.Contain(e => e.Contains(nameof(SqliteStoreOptions.ChangeFeedRetentionCount), StringComparison.Ordinal))
            .And.Contain(e => e.Contains(nameof(SqliteStoreOptions.ChangeFeedRetentionAge), StringComparison.Ordinal))
            .And.Contain(e => e.Contains(nameof(SqliteStoreOptions.ChangeFeedPollInterval), StringComparison.Ordinal));
        new SqliteStoreOptions { DataSource = "x.db", ChangeFeedRetentionAge = null }.GetValidationErrors().Should().BeEmpty();
    }

    [Fact]
    public async Task ChangeFeedOffByDefault_NoCapabilityNoFeedAndNoLogRows()
    {
        await using (var store = new SqliteStore(new SqliteStoreOptions { DataSource = DataSource }))
        {
            store.ChangeFeed.Should().BeFalse();
            store.Capabilities.HasFlag(StoreCapabilities.ChangeNotifications).Should().BeFalse();
            store.GetChangeFeed().Should().BeNull();
            store.Invoking(s => s.WatchAsync()).Should().Throw<NotSupportedException>();
            await store.PutAsync("items", "a", Json(1), cancellationToken: Token);
            await store.CommitAsync(new WriteBatch().Put("items", "b", Json(2)).Delete("items", "a"), Token);
        }

        ChangeRows().Should().Be(0);
    }

    [Fact]
    public async Task Trim_KeepsTheNewestChanges_AndAnOlderPositionIsAGap()
    {
        await using var store = new SqliteStore(new SqliteStoreOptions { DataSource = DataSource, ChangeFeed = true, ChangeFeedRetentionCount = 8 });
        for (var i = 0; i < 40; i++)
        {
            await store.PutAsync("items", $"k{i:D2}", Json(i), cancellationToken: Token);
        }

        ChangeRows().Should().BeInRange(8, 10, "the log is trimmed every quarter of the retention count");
        var newest = await store.GetPositionAsync(Token);
        newest.Should().Be(new ChangeFeedPosition(40, 0));

        var error = await FluentActions.Awaiting(() => CollectAsync(store, ChangeFeedPosition.Start, 1)).Should().ThrowAsync<ChangeFeedGapException>();
        error.Which.Requested.Should().Be(ChangeFeedPosition.Start);
        error.Which.TrimmedThrough.Should().NotBeNull();

        // From a kept position every later change is there.
        var kept = await CollectAsync(store, new ChangeFeedPosition(35, 0), 5);
        kept.Select(c => c.Key).Should().Equal("k35", "k36", "k37", "k38", "k39");

        // Commit numbers continue after trimming.
        await store.PutAsync("items", "after", Json(0), cancellationToken: Token);
        (await store.GetPositionAsync(Token)).Should().Be(new ChangeFeedPosition(41, 0));
    }

    [Fact]
    public async Task Trim_ByAge_DropsOldCommitsButKeepsTheNewest()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        await using var store = new SqliteStore(
            new SqliteStoreOptions { DataSource = DataSource, ChangeFeed = true, ChangeFeedRetentionCount = 1_000, ChangeFeedRetentionAge = TimeSpan.FromHours(1) },
            timeProvider: time);
        await store.PutAsync("items", "old", Json(1), cancellationToken: Token);
        await store.PutAsync("items", "old2", Json(1), cancellationToken: Token);
        time.Advance(TimeSpan.FromHours(2));

        // A purge trims by age (whatever the count), keeping the newest commit however old.
        await store.PurgeExpiredAsync(Token);
        ChangeRows().Should().Be(1);
        (await CollectAsync(store, new ChangeFeedPosition(1, 0), 1)).Select(c => c.Key).Should().Equal("old2");

        await store.PutAsync("items", "new", Json(2), cancellationToken: Token);
        await store.PurgeExpiredAsync(Token);
        ChangeRows().Should().Be(1);
        await FluentActions.Awaiting(() => CollectAsync(store, new ChangeFeedPosition(1, 0), 1)).Should().ThrowAsync<ChangeFeedGapException>();
        (await CollectAsync(store, new ChangeFeedPosition(2, 0), 1)).Select(c => c.Key).Should().Equal("new");
    }

    [Fact]
    public async Task GroupCommit_EachWriteItsOwnCommit_AndAFailedWriteLeavesNoChange()
    {
        await using var store = new SqliteStore(new SqliteStoreOptions { DataSource = DataSource, ChangeFeed = true });
        await store.PutAsync("items", "a", Json(0), cancellationToken: Token);
        var start = await store.GetPositionAsync(Token);

        var hold = await store.HoldWriteLockAsync();
        var writes = new List<Task>
        {
            store.PutAsync("items", "a", Json(1), cancellationToken: Token).AsTask(),
            store.PutAsync("items", "a", Json(2), new PutOptions { ExpectedVersion = 7 }, Token).AsTask(),
            store.PutAsync("items", "b", Json(3), cancellationToken: Token).AsTask(),
            store.DeleteAsync("items", "missing", cancellationToken: Token).AsTask(),
            store.DeleteAsync("items", "a", cancellationToken: Token).AsTask(),
        };
        var deadline = Stopwatch.StartNew();
        while (store.QueuedWrites < writes.Count && deadline.Elapsed < Guard)
        {
            await Task.Delay(5, Token);
        }

        hold.Dispose();
        await FluentActions.Awaiting(() => writes[1]).Should().ThrowAsync<ConcurrencyConflictException>();
        await Task.WhenAll(writes.Where((_, i) => i != 1));
        store.GroupsCommitted.Should().Be(1);

        var changes = await CollectAsync(store, start, 3);
        changes.Select(c => $"{c.Kind} {c.Key} v{c.Version}").Should().Equal("Put a v2", "Put b v1", "Delete a v2");
        changes.Select(c => c.Position.Commit).Should().OnlyHaveUniqueItems().And.BeInAscendingOrder();
        changes.Should().OnlyContain(c => c.Position.Index == 0);
        (await store.GetPositionAsync(Token)).Should().Be(changes[^1].Position);
    }

    [Fact]
    public async Task Batch_RepeatedKeys_ReportTheWritesItApplies()
    {
        await using var store = new SqliteStore(new SqliteStoreOptions { DataSource = DataSource, ChangeFeed = true });
        await store.PutAsync("items", "gone", Json(0), cancellationToken: Token);
        var start = await store.GetPositionAsync(Token);

        await store.CommitAsync(
            new WriteBatch()
                .Put("items", "x", Json(1))
                .Put("items", "x", Json(2))
                .Delete("items", "gone")
                .Put("items", "temp", Json(3))
                .Delete("items", "temp"),
            Token);

        var changes = await CollectAsync(store, start, 2);
        changes.Select(c => $"{c.Kind} {c.Key} v{c.Version}").Should().Equal("Put x v2", "Delete gone v1");
        changes.Select(c => c.Position).Should().Equal(new ChangeFeedPosition(2, 0), new ChangeFeedPosition(2, 1));
        (await store.GetPositionAsync(Token)).Should().Be(new ChangeFeedPosition(2, 1));
    }

    [Fact]
    public async Task Delete_OfAnExpiredRecord_ReportsItExpired()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        await using var store = new SqliteStore(new SqliteStoreOptions { DataSource = DataSource, ChangeFeed = true }, timeProvider: time);
        var start = await store.GetPositionAsync(Token);
        await store.PutAsync("items", "k", Json(1), new PutOptions { TimeToLive = TimeSpan.FromMinutes(1) }, Token);
        time.Advance(TimeSpan.FromMinutes(2));

        (await store.DeleteAsync("items", "k", cancellationToken: Token)).Should().BeFalse();

        (await CollectAsync(store, start, 2)).Select(c => $"{c.Kind} {c.Key} v{c.Version}").Should().Equal("Put k v1", "Expired k v1");
    }

    [Fact]
    public async Task Constructor_SchemaVersionTwo_IsMigratedWithAnEmptyChangeLog()
    {
        // A file as schema version 2 wrote it: records, no change log.
        using (var connection = new SqliteConnection($"Data Source={DataSource};Pooling=False"))
        {
            connection.Open();
            foreach (var statement in SqliteSchema.Migrations[0].Concat(SqliteSchema.Migrations[1]))
            {
                Execute(connection, statement);
            }

            Execute(connection, "PRAGMA user_version = 2");
            Execute(connection, "INSERT INTO entries VALUES ('docs', 'a', CAST('{\"n\":1}' AS BLOB), 3, 100, 200, NULL, 1)");
        }

        await using (var store = new SqliteStore(new SqliteStoreOptions { DataSource = DataSource, ChangeFeed = true }))
        {
            (await store.GetPositionAsync(Token)).Should().Be(ChangeFeedPosition.Start);
            (await store.GetAsync("docs", "a", Token))!.Version.Should().Be(3);
            await store.PutAsync("docs", "a", Json(2), cancellationToken: Token);
            var change = (await CollectAsync(store, ChangeFeedPosition.Start, 1)).Single();
            change.Should().Be(new StoreChange("docs", "a", StoreChangeKind.Put, 4, new ChangeFeedPosition(1, 0), change.Timestamp));
        }

        using var check = new SqliteConnection($"Data Source={DataSource};Pooling=False");
        check.Open();
        Scalar(check, "PRAGMA user_version").Should().Be(SqliteSchema.CurrentVersion);
        Scalar(check, "SELECT count(*) FROM change_log").Should().Be(1);
    }

    [Fact]
    public async Task FileFeed_OnceTurnedOn_IsKeptByStoresOpenedWithoutTheOption()
    {
        await using (var first = new SqliteStore(new SqliteStoreOptions { DataSource = DataSource, ChangeFeed = true }))
        {
            await first.PutAsync("items", "a", Json(1), cancellationToken: Token);
        }

        // A store (a tool, another process) opening the file with default options writes the log too.
        await using (var later = new SqliteStore(new SqliteStoreOptions { DataSource = DataSource }))
        {
            later.ChangeFeed.Should().BeTrue();
            later.Capabilities.HasFlag(StoreCapabilities.ChangeNotifications).Should().BeTrue();
            await later.PutAsync("items", "b", Json(2), cancellationToken: Token);
            await later.CommitAsync(new WriteBatch().Put("items", "c", Json(3)).Delete("items", "a"), Token);
            (await CollectAsync(later, ChangeFeedPosition.Start, 4)).Select(c => $"{c.Kind} {c.Key} {c.Position}")
                .Should().Equal("Put a 1-0", "Put b 2-0", "Put c 3-0", "Delete a 3-1");
        }

        ChangeRows().Should().Be(4);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Constructor_SchemaVersionThree_KeepsItsFeedWhenItsLogWasWritten(bool logWritten)
    {
        // A file as schema version 3 wrote it (the feed on by default): a change logged, or none (the feed was off).
        using (var connection = new SqliteConnection($"Data Source={DataSource};Pooling=False"))
        {
            connection.Open();
            foreach (var statement in SqliteSchema.Migrations.Take(3).SelectMany(m => m))
            {
                Execute(connection, statement);
            }

            Execute(connection, "PRAGMA user_version = 3");
            Execute(connection, "INSERT INTO entries VALUES ('docs', 'a', CAST('{\"n\":1}' AS BLOB), 1, 100, 100, NULL, 1)");
            if (logWritten)
            {
                Execute(connection, "INSERT INTO change_log VALUES (1, 0, 'docs', 'a', 0, 1, 100)");
            }
        }

        await using var store = new SqliteStore(new SqliteStoreOptions { DataSource = DataSource });

        store.ChangeFeed.Should().Be(logWritten);
        await store.PutAsync("docs", "a", Json(2), cancellationToken: Token);
        ChangeRows().Should().Be(logWritten ? 2 : 0);
    }

    [Fact]
    public async Task Dispose_EndsAWaitingConsumer()
    {
        var store = new SqliteStore(new SqliteStoreOptions { DataSource = DataSource, ChangeFeed = true });
        var start = await store.GetPositionAsync(Token);
        var consumer = CollectAsync(store, start, 1);
        await Task.Delay(50, Token);
        await store.DisposeAsync();

        await FluentActions.Awaiting(() => consumer).Should().ThrowAsync<ObjectDisposedException>();
    }

    [Fact]
    public async Task AnotherProcess_WritesReachThisProcessesFeed()
    {
        const int Count = 50;
        await using var store = new SqliteStore(new SqliteStoreOptions { DataSource = DataSource, ChangeFeed = true });
        var start = await store.GetPositionAsync(Token);
        var consumer = CollectAsync(store, start, Count);

        using var writer = WorkerProcess.Start("sqlite-feed-write", DataSource, Count.ToString(CultureInfo.InvariantCulture), "1");
        var changes = await consumer;

        changes.Select(c => c.Key).Should().Equal(Enumerable.Range(0, Count).Select(i => $"k{i:D5}"));
        changes.Should().OnlyContain(c => c.Kind == StoreChangeKind.Put && c.Version == 1 && c.Collection == "feed");
        writer.WaitForExit(Guard).Should().Be(0, writer.Errors);
    }

    [Fact]
    public async Task ConsumerProcess_KilledAndResumedFromItsLastPosition_MissesNothing()
    {
        const int Count = 60;
        await using var store = new SqliteStore(new SqliteStoreOptions { DataSource = DataSource, ChangeFeed = true });
        var start = await store.GetPositionAsync(Token);

        // The first consumer reads part of the feed while it is being written, and is killed.
        using (var first = WorkerProcess.Start("sqlite-feed-watch", DataSource, start.ToString(), Count.ToString(CultureInfo.InvariantCulture)))
        {
            await first.WaitForAsync("ready", Guard);
            for (var i = 0; i < Count / 2; i++)
            {
                await store.PutAsync("items", $"k{i:D2}", Json(i), cancellationToken: Token);
            }

            for (var seen = 0; seen < 10;)
            {
                if ((await first.ReadLineAsync(Guard)).StartsWith("change ", StringComparison.Ordinal))
                {
                    seen++;
                }
            }

            first.Kill();
            var firstChanges = Changes(first.Lines);
            var last = firstChanges[^1].Position;

            // Writes go on while no consumer runs; the second resumes after the last position the first printed.
            for (var i = Count / 2; i < Count; i++)
            {
                await store.PutAsync("items", $"k{i:D2}", Json(i), cancellationToken: Token);
            }

            var remaining = Count - firstChanges.Count;
            using var second = WorkerProcess.Start("sqlite-feed-watch", DataSource, last, remaining.ToString(CultureInfo.InvariantCulture));
            second.WaitForExit(Guard).Should().Be(0, second.Errors);
            var secondChanges = Changes(second.Lines);

            firstChanges.Concat(secondChanges).Select(c => c.Key).Should().Equal(Enumerable.Range(0, Count).Select(i => $"k{i:D2}"));
        }
    }

    private static List<(string Key, string Position)> Changes(IEnumerable<string> lines)
        => [.. lines.Where(l => l.StartsWith("change ", StringComparison.Ordinal)).Select(l => l.Split(' ')).Select(p => (p[3], p[5]))];

    private static byte[] Json(int i) => Encoding.UTF8.GetBytes($"{{\"i\":{i}}}");

    private static async Task<List<StoreChange>> CollectAsync(SqliteStore store, ChangeFeedPosition from, int count)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Token);
        timeout.CancelAfter(Guard);
        var changes = new List<StoreChange>();
        await foreach (var change in store.WatchAsync(null, from, timeout.Token))
        {
            changes.Add(change);
            if (changes.Count == count)
            {
                break;
            }
        }

        return changes;
    }

    private long ChangeRows()
    {
        using var connection = new SqliteConnection($"Data Source={DataSource};Pooling=False");
        connection.Open();
        return Scalar(connection, "SELECT count(*) FROM change_log");
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static long Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }
}
