using System.Collections.Concurrent;
using System.Diagnostics;
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

    // Writers keep writing to one collection while its slot moves to another node. While it moves, a script whose keys
    // are split between the two nodes gets TRYAGAIN (keys already moved get ASK, which StackExchange.Redis follows):
    // the store retries within OperationTimeout, so a move shorter than the timeout costs latency, not failed writes.
    [Fact]
    public async Task Writes_WhileTheirSlotMovesToAnotherNode_RetryAndEveryAcknowledgedWriteIsReadable()
    {
        var timeout = TimeSpan.FromSeconds(5);
        var guard = TimeSpan.FromSeconds(60);
        var prefix = UniquePrefix();
        const string collection = "moving";
        await using var store = new RedisStore(new RedisStoreOptions { Configuration = cluster.Configuration, KeyPrefix = prefix, OperationTimeout = timeout }, "reshard");
        var slot = cluster.Connection.HashSlot($"{{{prefix}:{collection}}}");
        var source = await cluster.OwnerOfAsync(slot);
        var target = cluster.Nodes.First(node => node != source);
        var acknowledged = new ConcurrentDictionary<string, (long Version, string Payload)>();
        var writes = new ConcurrentBag<(TimeSpan Started, TimeSpan Ended, Exception? Error)>();
        var clock = Stopwatch.StartNew();
        using var stop = new CancellationTokenSource();

        // Each writer creates records, updates its own counter with compare-and-set, and commits two-record batches,
        // pausing between writes so the slot holds about a hundred keys when it starts to move.
        var writers = Enumerable.Range(0, 4).Select(writer => Task.Run(
            async () =>
            {
                var counter = $"counter-{writer}";
                var counterVersion = 0L;
                for (var i = 0; !stop.IsCancellationRequested; i++)
                {
                    var payload = $"{writer}/{i}";
                    var started = clock.Elapsed;
                    try
                    {
                        switch (i % 3)
                        {
                            case 0:
                                var key = $"w{writer}-{i:D5}";
                                acknowledged[key] = (await store.PutAsync(collection, key, Utf8(payload), new PutOptions { ExpectedVersion = 0 }), payload);
                                break;
                            case 1:
                                counterVersion = await store.PutAsync(collection, counter, Utf8(payload), new PutOptions { ExpectedVersion = counterVersion });
                                acknowledged[counter] = (counterVersion, payload);
                                break;
                            default:
                                var (first, second) = ($"b{writer}-{i:D5}-1", $"b{writer}-{i:D5}-2");
                                var versions = await store.CommitAsync(new WriteBatch().Put(collection, first, Utf8(payload)).Put(collection, second, Utf8(payload)));
                                acknowledged[first] = (versions[0], payload);
                                acknowledged[second] = (versions[1], payload);
                                break;
                        }

                        writes.Add((started, clock.Elapsed, null));
                        await Task.Delay(10, CancellationToken.None);
                    }
                    catch (Exception ex)
                    {
                        // A failed write may or may not have been applied (docs/semantics.md): this writer's counter is
                        // unknown now, so the writer stops and its counter is not checked.
                        writes.Add((started, clock.Elapsed, ex));
                        acknowledged.TryRemove(counter, out _);
                        return;
                    }
                }
            },
            Token)).ToList();

        await UntilAsync(() => acknowledged.Count >= 40 || writers.Any(w => w.IsCompleted), guard);
        var (moveStarted, moveEnded) = await cluster.MigrateSlotAsync(slot, source, target, keysPerStep: 10, pause: TimeSpan.FromMilliseconds(50), clock);
        var before = acknowledged.Count;
        await UntilAsync(() => acknowledged.Count >= before + 40 || writers.All(w => w.IsCompleted), guard);
        await stop.CancelAsync();
        await Task.WhenAll(writers).WaitAsync(guard, Token);

        (await cluster.OwnerOfAsync(slot)).Should().BeSameAs(target, "the slot moved");
        var failures = writes.Where(w => w.Error is not null).ToList();
        failures.Where(w => w.Error is not StoreUnavailableException { InnerException: not null } || w.Ended - w.Started < timeout * 0.8)
            .Select(w => $"after {(w.Ended - w.Started).TotalMilliseconds:F0} ms: {w.Error}")
            .Should().BeEmpty("a write may only fail with StoreUnavailableException, after retrying for the operation timeout");
        writes.Count(w => w.Error is null && w.Started < moveEnded && w.Ended >= moveEnded)
            .Should().BePositive("writes sent while the slot moved ({0:F0} ms) wait for the move and then succeed", (moveEnded - moveStarted).TotalMilliseconds);
        foreach (var (key, (version, payload)) in acknowledged)
        {
            var entry = await store.GetAsync(collection, key, Token);
            entry.Should().NotBeNull($"the write of '{key}' was acknowledged");
            entry!.Version.Should().Be(version, key);
            Text(entry).Should().Be(payload, key);
        }

        // Each failed write (at most two records) may have been applied; a stopped writer's counter is not acknowledged.
        (await store.CountAsync(collection, Token)).Should().BeInRange(acknowledged.Count, acknowledged.Count + (3 * failures.Count));
    }

    private static async Task UntilAsync(Func<bool> condition, TimeSpan guard)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            clock.Elapsed.Should().BeLessThan(guard, "the writers make progress");
            await Task.Delay(10, Token);
        }
    }
}
