using FluentAssertions;
using static Persistence.Stores.Redis.Tests.TestData;

namespace Persistence.Stores.Redis.Tests;

/// <summary>The default layout on a Redis Cluster: collections spread over the nodes, batches atomic within one slot.</summary>
public sealed class RedisClusterTests(RedisClusterFixture cluster) : IAsyncDisposable
{
    private readonly RedisStore _store = new(new RedisStoreOptions { Configuration = cluster.Configuration, KeyPrefix = UniquePrefix() }, "cluster");

    public ValueTask DisposeAsync() => _store.DisposeAsync();

    [Fact]
    public async Task Collections_SpreadOverTheNodes_AndReadBack()
    {
        var before = await cluster.KeysPerNodeAsync();
        var collections = Enumerable.Range(0, 24).Select(i => $"c{i}").ToList();
        foreach (var collection in collections)
        {
            await _store.PutAsync(collection, "k", Utf8(collection), cancellationToken: Token);
        }

        var after = await cluster.KeysPerNodeAsync();
        after.Zip(before, (a, b) => a - b).Should().OnlyContain(grown => grown > 0, "24 collections hash to slots on every node");
        foreach (var collection in collections)
        {
            Text(await _store.GetAsync(collection, "k", Token)).Should().Be(collection);
        }

        var listed = new List<string>();
        await foreach (var name in _store.ListCollectionsAsync(Token))
        {
            listed.Add(name);
        }

        listed.Should().Equal(collections.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task CommitAsync_OneCollection_IsAtomicOnTheCluster()
    {
        await _store.PutAsync("orders", "o1", Utf8("1"), cancellationToken: Token);

        (await _store.CommitAsync(new WriteBatch().Put("orders", "o1", Utf8("2"), new PutOptions { ExpectedVersion = 1 }).Put("orders", "{other}", Utf8("x")).Delete("orders", "none"), Token))
            .Should().Equal(2, 1, 0);
        var failing = new WriteBatch().Put("orders", "o2", Utf8("x")).Check("orders", "o1", 1);
        await ((Func<Task>)(async () => await _store.CommitAsync(failing, Token))).Should().ThrowAsync<ConcurrencyConflictException>();

        (await _store.GetAsync("orders", "o2", Token)).Should().BeNull();
        (await _store.CountAsync("orders", Token)).Should().Be(2);
    }

    [Fact]
    public async Task CommitAsync_RepeatedKeyInOneSlot_AppliesInOrderOnTheCluster()
    {
        await _store.PutAsync("orders", "o1", Utf8("1"), cancellationToken: Token);
        var batch = new WriteBatch()
            .Put("orders", "o1", Utf8("2"), new PutOptions { ExpectedVersion = 1 })
            .Put("orders", "o1", Utf8("3"), new PutOptions { ExpectedVersion = 2 })
            .Put("orders", "o2", Utf8("x"))
            .Delete("orders", "o2", 1);

        (await _store.CommitAsync(batch, Token)).Should().Equal(2, 3, 1, 1);

        var o1 = await _store.GetAsync("orders", "o1", Token);
        Text(o1).Should().Be("3");
        o1!.Version.Should().Be(3);
        (await _store.GetAsync("orders", "o2", Token)).Should().BeNull();
        (await _store.CountAsync("orders", Token)).Should().Be(1);

        var stale = new WriteBatch().Put("orders", "o1", Utf8("4")).Check("orders", "o1", 3);
        var conflict = (await ((Func<Task>)(async () => await _store.CommitAsync(stale, Token))).Should().ThrowAsync<ConcurrencyConflictException>()).Which;
        (conflict.Key, conflict.ExpectedVersion, conflict.ActualVersion).Should().Be(("o1", 3L, (long?)4));
        Text(await _store.GetAsync("orders", "o1", Token)).Should().Be("3");
    }

    [Fact]
    public async Task CommitAsync_SpanningSlots_IsRefusedAndWritesNothing()
    {
        var slotOfA = cluster.Connection.HashSlot($"{{{_store.KeyPrefix}:a}}");
        var other = Enumerable.Range(0, 100).Select(i => $"b{i}").First(c => cluster.Connection.HashSlot($"{{{_store.KeyPrefix}:{c}}}") != slotOfA);
        await _store.PutAsync("a", "existing", Utf8("1"), cancellationToken: Token);
        var batch = new WriteBatch().Put("a", "new", Utf8("x")).Delete("a", "existing").Put(other, "new", Utf8("x"));

        var act = async () => await _store.CommitAsync(batch, Token);

        (await act.Should().ThrowAsync<NotSupportedException>()).WithMessage("*slots*'a'*nothing was written*SlotGroup*");
        (await _store.GetAsync("a", "new", Token)).Should().BeNull();
        (await _store.GetAsync(other, "new", Token)).Should().BeNull();
        (await _store.GetAsync("a", "existing", Token))!.Version.Should().Be(1);
    }

    [Fact]
    public async Task CommitAsync_CollectionsOfOneSlotGroup_AreAtomicOnTheCluster()
    {
        await using var grouped = new RedisStore(new RedisStoreOptions { ConnectionMultiplexer = cluster.Connection, KeyPrefix = UniquePrefix(), SlotGroup = c => c.StartsWith("shop", StringComparison.Ordinal) ? "shop" : c });
        await grouped.PutAsync("shop-stock", "s", Utf8("10"), cancellationToken: Token);

        (await grouped.CommitAsync(new WriteBatch().Put("shop-orders", "o", Utf8("1")).Put("shop-stock", "s", Utf8("9"), new PutOptions { ExpectedVersion = 1 }), Token)).Should().Equal(1, 2);
        var stale = new WriteBatch().Put("shop-orders", "o2", Utf8("1")).Put("shop-stock", "s", Utf8("8"), new PutOptions { ExpectedVersion = 1 });
        await ((Func<Task>)(async () => await grouped.CommitAsync(stale, Token))).Should().ThrowAsync<ConcurrencyConflictException>();

        (await grouped.GetAsync("shop-orders", "o2", Token)).Should().BeNull();
        Text(await grouped.GetAsync("shop-stock", "s", Token)).Should().Be("9");
    }

    [Fact]
    public async Task ImportAsync_AcrossSlots_ImportsEverySlotAndFailOnConflictWritesNothing()
    {
        var now = DateTimeOffset.UnixEpoch.AddYears(56);
        var entries = Enumerable.Range(0, 12).Select(i => new StoreEntry($"c{i}", "k", Utf8($"v{i}"), i + 1, now, now, null)).ToList();

        (await _store.ImportAsync(entries, ImportMode.Overwrite, Token)).Should().Be(new ImportResult(12, 0));
        foreach (var entry in entries)
        {
            (await _store.GetAsync(entry.Collection, "k", Token))!.Version.Should().Be(entry.Version);
        }

        var fresh = Enumerable.Range(0, 12).Select(i => new StoreEntry($"d{i}", "k", Utf8("x"), 1, now, now, null)).Append(entries[5]).ToList();
        var act = async () => await _store.ImportAsync(fresh, ImportMode.FailOnConflict, Token);

        (await act.Should().ThrowAsync<ConcurrencyConflictException>()).Which.Key.Should().Be("k");
        foreach (var entry in fresh.Take(12))
        {
            (await _store.GetAsync(entry.Collection, "k", Token)).Should().BeNull();
        }

        (await _store.ImportAsync(fresh, ImportMode.PreserveExisting, Token)).Should().Be(new ImportResult(12, 1));
    }
}
