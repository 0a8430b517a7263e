using System.Text;
using FluentAssertions;
using Microsoft.Extensions.Time.Testing;
using Npgsql;

namespace Persistence.Stores.Postgres.Tests;

/// <summary>What is particular to the PostgreSQL change feed: the option, trimming and gaps, concurrent writers, the migration.</summary>
public sealed class PostgresChangeFeedTests(PostgresFixture postgres) : IAsyncDisposable
{
    private readonly List<IAsyncDisposable> _disposables = [];

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public async ValueTask DisposeAsync()
    {
        foreach (var disposable in _disposables)
        {
            await disposable.DisposeAsync();
        }
    }

    [Fact]
    public async Task ChangeFeedOff_StoreReportsNoFeed()
    {
        var store = Open(postgres.Options());

        store.HasChangeFeed.Should().BeFalse();
        store.Capabilities.Should().NotHaveFlag(StoreCapabilities.ChangeNotifications);
        ((IStore)store).GetChangeFeed().Should().BeNull();
        var watch = () => store.WatchAsync();
        watch.Should().Throw<NotSupportedException>().WithMessage("*ChangeFeed*");
        await store.PutAsync("c", "k", Utf8("1"), cancellationToken: Token);
        (await Scalar($"SELECT count(*) FROM \"{store.Schema}\".entries_log")).Should().Be(0L);
    }

    [Fact]
    public async Task Purge_TrimsTheLogToItsCapacity_AndAnOlderPositionIsAGap()
    {
        var options = postgres.Options();
        options.ChangeFeed = true;
        options.ChangeFeedCapacity = 3;
        var store = Open(options);
        var positions = new List<ChangeFeedPosition>();
        for (var i = 0; i < 6; i++)
        {
            await store.PutAsync("c", $"k{i}", Utf8($"{i}"), cancellationToken: Token);
            positions.Add(await store.GetPositionAsync(Token));
        }

        await store.PurgeExpiredAsync(Token);

        var error = await Assert.ThrowsAsync<ChangeFeedGapException>(async () => await FirstAsync(store, ChangeFeedPosition.Start));
        error.TrimmedThrough.Should().Be(positions[2]);
        (await FirstAsync(store, positions[2])).Key.Should().Be("k3");
        (await Scalar($"SELECT count(*) FROM \"{store.Schema}\".entries_log")).Should().Be(3L);
    }

    [Fact]
    public async Task Purge_TrimsChangesOlderThanTheRetention()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var options = postgres.Options();
        options.ChangeFeed = true;
        options.ChangeFeedRetention = TimeSpan.FromDays(1);
        var store = Open(options, time);
        await store.PutAsync("c", "old-1", Utf8("1"), cancellationToken: Token);
        await store.PutAsync("c", "old-2", Utf8("2"), cancellationToken: Token);
        var second = await store.GetPositionAsync(Token);
        time.Advance(TimeSpan.FromDays(2));
        await store.PutAsync("c", "new", Utf8("3"), cancellationToken: Token);

        await store.PurgeExpiredAsync(Token);

        await Assert.ThrowsAsync<ChangeFeedGapException>(async () => await FirstAsync(store, ChangeFeedPosition.Start));
        (await FirstAsync(store, second)).Key.Should().Be("new");
    }

    [Fact]
    public async Task ConcurrentWritersOnTwoInstances_EveryChangeOnceInCommitOrder()
    {
        var options = postgres.Options();
        options.ChangeFeed = true;
        var first = Open(options);
        var second = Open(options);
        var start = await first.GetPositionAsync(Token);

        // Four writers on two instances increment shared keys; each acknowledged write is one change.
        var writers = Enumerable.Range(0, 4).Select(w => Task.Run(
            async () =>
            {
                var store = w % 2 == 0 ? first : second;
                for (var i = 0; i < 25; i++)
                {
                    await store.PutAsync("shared", $"k{i % 5}", Utf8($"{w}-{i}"), cancellationToken: Token);
                }
            },
            Token)).ToArray();
        await Task.WhenAll(writers);

        var changes = new List<StoreChange>();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Token);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        await foreach (var change in second.WatchAsync("shared", start, timeout.Token))
        {
            changes.Add(change);
            if (changes.Count == 100)
            {
                break;
            }
        }

        changes.Select(c => c.Position).Should().BeInAscendingOrder().And.OnlyHaveUniqueItems();
        foreach (var key in changes.GroupBy(c => c.Key))
        {
            // Commit order is per-key version order: 1, 2, 3, … with none missing.
            key.Select(c => c.Version).Should().Equal(Enumerable.Range(1, key.Count()).Select(v => (long)v), key.Key);
        }

        (await first.GetPositionAsync(Token)).Should().Be(changes[^1].Position);
    }

    [Fact]
    public async Task SchemaVersion1_IsMigratedToTheChangeLog()
    {
        var options = postgres.Options();
        await using (var created = new PostgresStore(options, "v1"))
        {
            await created.PutAsync("c", "before", Utf8("1"), cancellationToken: Token);
        }

        await Execute($"DROP TABLE \"{options.Schema}\".entries_log, \"{options.Schema}\".entries_feed; UPDATE \"{options.Schema}\".entries_schema SET version = 1");
        options.ChangeFeed = true;
        var store = Open(options);
        var start = await store.GetPositionAsync(Token);

        await store.PutAsync("c", "after", Utf8("2"), cancellationToken: Token);

        start.Should().Be(ChangeFeedPosition.Start);
        (await Scalar($"SELECT version FROM \"{options.Schema}\".entries_schema")).Should().Be(PostgresStore.CurrentSchemaVersion);
        (await FirstAsync(store, start)).Should().Match<StoreChange>(c => c.Key == "after" && c.Version == 1);
        (await store.GetAsync("c", "before", Token)).Should().NotBeNull();
    }

    private static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

    private static async Task<StoreChange> FirstAsync(PostgresStore store, ChangeFeedPosition from)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Token);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        await foreach (var change in store.WatchAsync(null, from, timeout.Token))
        {
            return change;
        }

        throw new InvalidOperationException("The feed ended.");
    }

    private PostgresStore Open(PostgresStoreOptions options, TimeProvider? time = null)
    {
        var store = new PostgresStore(options, "feed", time);
        _disposables.Add(store);
        return store;
    }

    private async Task Execute(string sql) => await Scalar(sql);

    private async Task<object?> Scalar(string sql)
    {
        await using var connection = new NpgsqlConnection(postgres.ConnectionString);
        await connection.OpenAsync(Token);
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync(Token);
    }
}
