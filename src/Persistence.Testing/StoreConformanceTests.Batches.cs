namespace Persistence.Testing;

public abstract partial class StoreConformanceTests
{
    /// <summary>A batch across two collections applies puts, deletes and checks and returns the documented result for each.</summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task CommitAsync_MixedOperationsAcrossCollections_AppliesAllAndReturnsResults()
    {
        await Store.PutAsync("orders", "o1", Utf8("o1-v1"), cancellationToken: Token);
        await Store.PutAsync("orders", "o2", Utf8("o2-v1"), cancellationToken: Token);
        await Store.PutAsync("stock", "s1", Utf8("s1-v1"), cancellationToken: Token);
        await Store.PutAsync("stock", "s1", Utf8("s1-v2"), cancellationToken: Token);
        var batch = new WriteBatch()
            .Put("orders", "o1", Utf8("o1-v2"), new PutOptions { ExpectedVersion = 1 })
            .Put("orders", "o3", Utf8("o3-v1"), new PutOptions { ExpectedVersion = 0 })
            .Delete("orders", "o2")
            .Delete("stock", "missing")
            .Check("stock", "s1", 2)
            .Check("stock", "absent", 0)
            .Put("stock", "s2", Utf8("s2-v1"));

        var results = await Store.CommitAsync(batch, Token);

        Assert.Equal([2L, 1L, 1L, 0L, 2L, 0L, 1L], results);
        AssertPayload(Utf8("o1-v2"), await Store.GetAsync("orders", "o1", Token));
        Assert.Equal(2, (await Store.GetAsync("orders", "o1", Token))?.Version);
        AssertPayload(Utf8("o3-v1"), await Store.GetAsync("orders", "o3", Token));
        Assert.Null(await Store.GetAsync("orders", "o2", Token));
        var s1 = await Store.GetAsync("stock", "s1", Token);
        Assert.Equal(2, s1?.Version);
        AssertPayload(Utf8("s1-v2"), s1);
        Assert.Null(await Store.GetAsync("stock", "absent", Token));
        Assert.Equal(["o1", "o3"], await ScanKeysAsync("orders"));
        Assert.Equal(["s1", "s2"], await ScanKeysAsync("stock"));
    }

    /// <summary>When one check fails, nothing of the batch is written in any collection and the conflict names the failing record.</summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task CommitAsync_FailingCheck_WritesNothingAcrossCollections()
    {
        await SeedBatchTargetsAsync();
        var batch = new WriteBatch()
            .Put("accounts", "alice", Utf8("alice-changed"))
            .Put("ledger", "new-entry", Utf8("created"))
            .Delete("ledger", "old-entry")
            .Put("accounts", "new-account", Utf8("created"), new PutOptions { ExpectedVersion = 0 })
            .Check("accounts", "bob", 5);

        var ex = await Assert.ThrowsAsync<ConcurrencyConflictException>(async () => await Store.CommitAsync(batch, Token));

        Assert.Equal("accounts", ex.Collection);
        Assert.Equal("bob", ex.Key);
        Assert.Equal(5, ex.ExpectedVersion);
        Assert.Equal(1, ex.ActualVersion);
        await AssertBatchTargetsUnchangedAsync();
    }

    /// <summary>When the first operation's expected version fails, nothing is written.</summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task CommitAsync_FirstOperationConflicts_WritesNothing()
    {
        await SeedBatchTargetsAsync();
        var batch = new WriteBatch()
            .Put("accounts", "alice", Utf8("alice-changed"), new PutOptions { ExpectedVersion = 1 })
            .Put("ledger", "new-entry", Utf8("created"))
            .Delete("ledger", "old-entry");

        var ex = await Assert.ThrowsAsync<ConcurrencyConflictException>(async () => await Store.CommitAsync(batch, Token));

        Assert.Equal("alice", ex.Key);
        Assert.Equal(2, ex.ActualVersion);
        await AssertBatchTargetsUnchangedAsync();
    }

    /// <summary>A stale expected version on a delete fails the whole batch.</summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task CommitAsync_StaleDelete_WritesNothing()
    {
        await SeedBatchTargetsAsync();
        var batch = new WriteBatch()
            .Put("accounts", "alice", Utf8("alice-changed"), new PutOptions { ExpectedVersion = 2 })
            .Put("ledger", "new-entry", Utf8("created"))
            .Delete("ledger", "old-entry", 7);

        var ex = await Assert.ThrowsAsync<ConcurrencyConflictException>(async () => await Store.CommitAsync(batch, Token));

        Assert.Equal("ledger", ex.Collection);
        Assert.Equal("old-entry", ex.Key);
        await AssertBatchTargetsUnchangedAsync();
    }

    /// <summary>A create-only put of an existing key fails the whole batch, even when it comes last.</summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task CommitAsync_CreateOnlyOnExistingKey_WritesNothing()
    {
        await SeedBatchTargetsAsync();
        var batch = new WriteBatch()
            .Put("accounts", "alice", Utf8("alice-changed"))
            .Delete("ledger", "old-entry")
            .Put("ledger", "new-entry", Utf8("created"))
            .Put("accounts", "bob", Utf8("bob-changed"), new PutOptions { ExpectedVersion = 0 });

        var ex = await Assert.ThrowsAsync<ConcurrencyConflictException>(async () => await Store.CommitAsync(batch, Token));

        Assert.Equal("bob", ex.Key);
        Assert.Equal(0, ex.ExpectedVersion);
        Assert.Equal(1, ex.ActualVersion);
        await AssertBatchTargetsUnchangedAsync();
    }

    /// <summary>A batch of create-only puts creates every key at version 1; committing it again conflicts and changes nothing.</summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task CommitAsync_CreateOnlyPuts_CreateAllThenConflict()
    {
        WriteBatch CreateAll(string suffix) => new WriteBatch()
            .Put("users", "u1", Utf8("u1" + suffix), new PutOptions { ExpectedVersion = 0 })
            .Put("users", "u2", Utf8("u2" + suffix), new PutOptions { ExpectedVersion = 0 })
            .Put("profiles", "u1", Utf8("p1" + suffix), new PutOptions { ExpectedVersion = 0 });

        Assert.Equal([1L, 1L, 1L], await Store.CommitAsync(CreateAll("-first"), Token));
        await Assert.ThrowsAsync<ConcurrencyConflictException>(async () => await Store.CommitAsync(CreateAll("-second"), Token));

        foreach (var (collection, key, payload) in new[] { ("users", "u1", "u1-first"), ("users", "u2", "u2-first"), ("profiles", "u1", "p1-first") })
        {
            var entry = await Store.GetAsync(collection, key, Token);
            Assert.Equal(1, entry?.Version);
            AssertPayload(Utf8(payload), entry);
        }
    }

    /// <summary>An empty batch returns no results and writes nothing.</summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task CommitAsync_EmptyBatch_ReturnsNoResults()
    {
        Assert.Empty(await Store.CommitAsync(new WriteBatch(), Token));
        Assert.Empty(await ListCollectionNamesAsync());
    }

    /// <summary>Batch puts keep CreatedAt of existing records and stamp UpdatedAt with the commit time.</summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task CommitAsync_PutOverExisting_KeepsCreatedAtAndMovesUpdatedAt()
    {
        var created = Time.GetUtcNow();
        await Store.PutAsync("items", "k", Utf8("1"), cancellationToken: Token);
        Time.Advance(TimeSpan.FromSeconds(42));
        var committed = Time.GetUtcNow();

        await Store.CommitAsync(new WriteBatch().Put("items", "k", Utf8("2")).Put("items", "n", Utf8("1")), Token);

        var k = await Store.GetAsync("items", "k", Token);
        var n = await Store.GetAsync("items", "n", Token);
        Assert.NotNull(k);
        Assert.NotNull(n);
        AssertTime(created, k.CreatedAt, "CreatedAt of an existing record after a batch");
        AssertTime(committed, k.UpdatedAt, "UpdatedAt of an existing record after a batch");
        AssertTime(committed, n.CreatedAt, "CreatedAt of a record created by a batch");
    }

    /// <summary>
    /// Operations on one key apply in order: a delete forgets the key, so a later put starts again at version 1 with a new
    /// CreatedAt, and each result reflects the state at its position in the batch.
    /// </summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task CommitAsync_RepeatedKeys_AppliesOperationsInOrder()
    {
        var created = Time.GetUtcNow();
        await Store.PutAsync("seq", "k1", Utf8("k1-v1"), cancellationToken: Token);
        await Store.PutAsync("seq", "k2", Utf8("k2-v1"), cancellationToken: Token);
        await Store.PutAsync("seq", "k4", Utf8("k4-v1"), cancellationToken: Token);
        await Store.PutAsync("seq", "k4", Utf8("k4-v2"), cancellationToken: Token);
        Time.Advance(TimeSpan.FromMinutes(3));
        var committed = Time.GetUtcNow();
        var batch = new WriteBatch()
            .Delete("seq", "k1")
            .Put("seq", "k2", Utf8("k2-v2"))
            .Delete("seq", "k2")
            .Put("seq", "k3", Utf8("k3-new"))
            .Delete("seq", "k4")
            .Put("seq", "k4", Utf8("k4-new"));

        var results = await Store.CommitAsync(batch, Token);

        // del k1 -> the deleted version; put k2 -> 2; del k2 -> the version the put made; put k3 -> 1; del k4 -> 2; put k4 -> 1.
        Assert.Equal([1L, 2L, 2L, 1L, 2L, 1L], results);
        Assert.Null(await Store.GetAsync("seq", "k1", Token));
        Assert.Null(await Store.GetAsync("seq", "k2", Token));
        var k3 = await Store.GetAsync("seq", "k3", Token);
        Assert.Equal(1, k3?.Version);
        AssertPayload(Utf8("k3-new"), k3);
        var k4 = await Store.GetAsync("seq", "k4", Token);
        Assert.NotNull(k4);
        Assert.Equal(1, k4.Version);
        AssertPayload(Utf8("k4-new"), k4);
        Assert.True(created < committed);
        AssertTime(committed, k4.CreatedAt, "CreatedAt of a key deleted and put again in one batch");
        AssertTime(committed, k4.UpdatedAt, "UpdatedAt of a key deleted and put again in one batch");
        Assert.Equal(["k3", "k4"], await ScanKeysAsync("seq"));
        Assert.Equal(2, await Store.CountAsync("seq", Token));
    }

    /// <summary>A later put's expected version is the version the earlier put of the batch made; CreatedAt survives both.</summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task CommitAsync_PutTwiceWithExpectedVersions_CountsEveryWrite()
    {
        var created = Time.GetUtcNow();
        await Store.PutAsync("seq", "k", Utf8("v1"), cancellationToken: Token);
        Time.Advance(TimeSpan.FromSeconds(30));
        var committed = Time.GetUtcNow();
        var batch = new WriteBatch()
            .Put("seq", "k", Utf8("v2"), new PutOptions { ExpectedVersion = 1 })
            .Check("seq", "k", 2)
            .Put("seq", "k", Utf8("v3"), new PutOptions { ExpectedVersion = 2 })
            .Put("seq", "n", Utf8("n1"), new PutOptions { ExpectedVersion = 0 })
            .Put("seq", "n", Utf8("n2"), new PutOptions { ExpectedVersion = 1 });

        Assert.Equal([2L, 2L, 3L, 1L, 2L], await Store.CommitAsync(batch, Token));

        var k = await Store.GetAsync("seq", "k", Token);
        Assert.NotNull(k);
        Assert.Equal(3, k.Version);
        AssertPayload(Utf8("v3"), k);
        AssertTime(created, k.CreatedAt, "CreatedAt of an existing key put twice in one batch");
        AssertTime(committed, k.UpdatedAt, "UpdatedAt of an existing key put twice in one batch");
        var n = await Store.GetAsync("seq", "n", Token);
        Assert.NotNull(n);
        Assert.Equal(2, n.Version);
        AssertPayload(Utf8("n2"), n);
        AssertTime(committed, n.CreatedAt, "CreatedAt of a key created and updated in one batch");
    }

    /// <summary>The last put of a key decides its time-to-live: a put without one clears the expiry an earlier put set.</summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task CommitAsync_RepeatedPuts_LastTimeToLiveApplies()
    {
        var ttl = TimeSpan.FromMinutes(5);
        var batch = new WriteBatch()
            .Put("seq", "ends", Utf8("1"))
            .Put("seq", "stays", Utf8("1"), new PutOptions { TimeToLive = TimeSpan.FromSeconds(1) })
            .Put("seq", "ends", Utf8("2"), new PutOptions { TimeToLive = ttl })
            .Put("seq", "stays", Utf8("2"));

        Assert.Equal([1L, 1L, 2L, 2L], await Store.CommitAsync(batch, Token));

        var ends = await Store.GetAsync("seq", "ends", Token);
        AssertTime(Time.GetUtcNow() + ttl, ends?.ExpiresAt, "ExpiresAt set by the last put");
        AssertTime(null, (await Store.GetAsync("seq", "stays", Token))?.ExpiresAt, "ExpiresAt cleared by the last put");
        Time.Advance(ttl);
        Assert.Null(await Store.GetAsync("seq", "ends", Token));
        var stays = await Store.GetAsync("seq", "stays", Token);
        Assert.Equal(2, stays?.Version);
        AssertPayload(Utf8("2"), stays);
    }

    /// <summary>A key created and deleted in one batch is not there afterwards; the results still tell what each step saw.</summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task CommitAsync_PutThenDeleteOfNewKey_LeavesNothing()
    {
        var batch = new WriteBatch()
            .Put("seq", "temp", Utf8("x"), new PutOptions { ExpectedVersion = 0 })
            .Delete("seq", "temp", 1)
            .Check("seq", "temp", 0);

        Assert.Equal([1L, 1L, 0L], await Store.CommitAsync(batch, Token));

        Assert.Null(await Store.GetAsync("seq", "temp", Token));
        Assert.Equal(0, await Store.CountAsync("seq", Token));
        Assert.Empty(await ScanKeysAsync("seq"));
        Assert.DoesNotContain("seq", await ListCollectionNamesAsync());
    }

    /// <summary>A check after a delete of the same key sees it missing (0), and a create-only put may follow.</summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task CommitAsync_DeleteThenCheckZero_SeesKeyGone()
    {
        await Store.PutAsync("seq", "k", Utf8("v1"), cancellationToken: Token);
        await Store.PutAsync("seq", "k", Utf8("v2"), cancellationToken: Token);

        Assert.Equal([2L, 0L], await Store.CommitAsync(new WriteBatch().Delete("seq", "k", 2).Check("seq", "k", 0), Token));
        Assert.Null(await Store.GetAsync("seq", "k", Token));

        await Store.PutAsync("seq", "k", Utf8("again"), cancellationToken: Token);
        var batch = new WriteBatch().Delete("seq", "k", 1).Check("seq", "k", 0).Put("seq", "k", Utf8("fresh"), new PutOptions { ExpectedVersion = 0 });
        Assert.Equal([1L, 0L, 1L], await Store.CommitAsync(batch, Token));
        AssertPayload(Utf8("fresh"), await Store.GetAsync("seq", "k", Token));
    }

    /// <summary>
    /// An expected version that holds before the batch but not after an earlier operation on the key fails the batch: the
    /// conflict names that operation's key, its expected version and the version the batch had made, and nothing is written.
    /// </summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task CommitAsync_ConflictOnSecondOperationOfKey_WritesNothing()
    {
        await SeedBatchTargetsAsync();
        var stalePut = new WriteBatch()
            .Put("ledger", "new-entry", Utf8("created"))
            .Put("accounts", "alice", Utf8("alice-3"), new PutOptions { ExpectedVersion = 2 })
            .Delete("ledger", "old-entry")
            .Put("accounts", "alice", Utf8("alice-4"), new PutOptions { ExpectedVersion = 2 });

        var ex = await Assert.ThrowsAsync<ConcurrencyConflictException>(async () => await Store.CommitAsync(stalePut, Token));

        Assert.Equal("accounts", ex.Collection);
        Assert.Equal("alice", ex.Key);
        Assert.Equal(2, ex.ExpectedVersion);
        Assert.Equal(3, ex.ActualVersion);
        await AssertBatchTargetsUnchangedAsync();

        var checkAfterDelete = new WriteBatch()
            .Put("accounts", "new-account", Utf8("created"))
            .Delete("accounts", "bob", 1)
            .Check("accounts", "bob", 1);

        ex = await Assert.ThrowsAsync<ConcurrencyConflictException>(async () => await Store.CommitAsync(checkAfterDelete, Token));

        Assert.Equal("bob", ex.Key);
        Assert.Equal(1, ex.ExpectedVersion);
        Assert.Null(ex.ActualVersion);
        await AssertBatchTargetsUnchangedAsync();
    }

    /// <summary>A key deleted and then put twice in one batch is a new record at version 2 whose CreatedAt is the commit time.</summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task CommitAsync_DeleteThenPutTwice_CreatesNewRecord()
    {
        await Store.PutAsync("seq", "k", Utf8("old-1"), cancellationToken: Token);
        await Store.PutAsync("seq", "k", Utf8("old-2"), cancellationToken: Token);
        Time.Advance(TimeSpan.FromHours(1));
        var committed = Time.GetUtcNow();

        var batch = new WriteBatch().Delete("seq", "k", 2).Put("seq", "k", Utf8("new-1")).Put("seq", "k", Utf8("new-2"), new PutOptions { ExpectedVersion = 1 });
        Assert.Equal([2L, 1L, 2L], await Store.CommitAsync(batch, Token));

        var k = await Store.GetAsync("seq", "k", Token);
        Assert.NotNull(k);
        Assert.Equal(2, k.Version);
        AssertPayload(Utf8("new-2"), k);
        AssertTime(committed, k.CreatedAt, "CreatedAt of a key deleted then put twice in one batch");
    }

    /// <summary>Over an expired record, repeated puts start at version 1 with a new CreatedAt, not the expired record's.</summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task CommitAsync_RepeatedPutsOverExpiredRecord_StartAtOneWithNewCreatedAt()
    {
        await Store.PutAsync("seq", "k", Utf8("old"), new PutOptions { TimeToLive = TimeSpan.FromSeconds(10) }, Token);
        Time.Advance(TimeSpan.FromSeconds(11));
        var committed = Time.GetUtcNow();

        var batch = new WriteBatch().Put("seq", "k", Utf8("a"), new PutOptions { ExpectedVersion = 0 }).Put("seq", "k", Utf8("b"), new PutOptions { ExpectedVersion = 1 });
        Assert.Equal([1L, 2L], await Store.CommitAsync(batch, Token));

        var k = await Store.GetAsync("seq", "k", Token);
        Assert.NotNull(k);
        Assert.Equal(2, k.Version);
        AssertPayload(Utf8("b"), k);
        AssertTime(committed, k.CreatedAt, "CreatedAt of a key put twice over an expired record");
        AssertTime(null, k.ExpiresAt, "ExpiresAt of a key whose last put has no time-to-live");
    }

    /// <summary>
    /// Generated batches of puts, deletes and checks over three keys, with right, wrong and absent expected versions, give
    /// the results and the stored state of applying the operations one by one to a model, or fail whole and change nothing.
    /// </summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task CommitAsync_GeneratedSequencesOnFewKeys_MatchInOrderModel()
    {
        var random = new Random(20261205);
        string[] keys = ["a", "b", "c"];
        var model = new Dictionary<string, (long Version, string Payload)>(StringComparer.Ordinal);
        for (var round = 0; round < 40; round++)
        {
            var batch = new WriteBatch();
            var simulated = new Dictionary<string, (long Version, string Payload)>(model, StringComparer.Ordinal);
            var expected = new List<long>();
            (string Key, long Expected, long? Actual)? conflict = null;
            var count = random.Next(1, 8);
            for (var i = 0; i < count; i++)
            {
                var key = keys[random.Next(keys.Length)];
                var current = simulated.TryGetValue(key, out var record) ? record.Version : 0;
                long? expectation = random.Next(4) switch
                {
                    0 => null,
                    1 => current + (random.Next(2) == 0 ? 1 : -1),
                    _ => current,
                };
                if (expectation < 0)
                {
                    expectation = current + 2;
                }

                if (conflict is null && expectation is { } e && e != current)
                {
                    conflict = (key, e, current == 0 ? null : current);
                }

                switch (random.Next(3))
                {
                    case 0:
                        var payload = $"{key}-{round}-{i}";
                        batch.Put("gen", key, Utf8(payload), new PutOptions { ExpectedVersion = expectation });
                        simulated[key] = (current + 1, payload);
                        expected.Add(current + 1);
                        break;
                    case 1:
                        batch.Delete("gen", key, expectation);
                        simulated.Remove(key);
                        expected.Add(current);
                        break;
                    default:
                        batch.Check("gen", key, expectation ?? current);
                        expected.Add(current);
                        break;
                }
            }

            if (conflict is { } failed)
            {
                var ex = await Assert.ThrowsAsync<ConcurrencyConflictException>(async () => await Store.CommitAsync(batch, Token));
                Assert.True(
                    (ex.Key, ex.ExpectedVersion, ex.ActualVersion) == (failed.Key, failed.Expected, failed.Actual),
                    $"Round {round}: expected the conflict on {failed.Key} (expected {failed.Expected}, actual {failed.Actual}), got {ex.Key} ({ex.ExpectedVersion}, {ex.ActualVersion}).");
            }
            else
            {
                Assert.True(expected.SequenceEqual(await Store.CommitAsync(batch, Token)), $"Round {round}: results differ from applying the operations in order.");
                model = simulated;
            }

            foreach (var key in keys)
            {
                var stored = await Store.GetAsync("gen", key, Token);
                if (model.TryGetValue(key, out var record))
                {
                    Assert.True(stored?.Version == record.Version, $"Round {round}: '{key}' is at version {stored?.Version} instead of {record.Version}.");
                    AssertPayload(Utf8(record.Payload), stored, $"in round {round}");
                }
                else
                {
                    Assert.True(stored is null, $"Round {round}: '{key}' is at version {stored?.Version} instead of missing.");
                }
            }
        }
    }

    /// <summary>A typed transaction that updates one key twice, with the version each step expects, commits both updates.</summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task BeginTransaction_UpdatesOneKeyTwice_CommitsBothInOrder()
    {
        var version = await Store.PutAsync("typed", "counter", new ConformanceItem { Id = "counter", Count = 1 }, cancellationToken: Token);

        await using (var tx = Store.BeginTransaction())
        {
            tx.Put("typed", "counter", new ConformanceItem { Id = "counter", Count = 2 }, new PutOptions { ExpectedVersion = version })
              .Put("typed", "counter", new ConformanceItem { Id = "counter", Count = 3 }, new PutOptions { ExpectedVersion = version + 1 })
              .Put("typed", "scratch", new ConformanceItem { Id = "scratch" })
              .Delete("typed", "scratch", 1);
            Assert.Equal([2L, 3L, 1L, 1L], await tx.CommitAsync(Token));
        }

        Assert.Equal(3, (await Store.GetAsync("typed", "counter", Token))?.Version);
        Assert.Equal(3, (await Store.GetAsync<ConformanceItem>("typed", "counter", Token))?.Count);
        Assert.Null(await Store.GetAsync("typed", "scratch", Token));
    }

    private async Task SeedBatchTargetsAsync()
    {
        await Store.PutAsync("accounts", "alice", Utf8("alice-1"), cancellationToken: Token);
        await Store.PutAsync("accounts", "alice", Utf8("alice-2"), cancellationToken: Token);
        await Store.PutAsync("accounts", "bob", Utf8("bob-1"), cancellationToken: Token);
        await Store.PutAsync("ledger", "old-entry", Utf8("old"), cancellationToken: Token);
    }

    private async Task AssertBatchTargetsUnchangedAsync()
    {
        var alice = await Store.GetAsync("accounts", "alice", Token);
        Assert.Equal(2, alice?.Version);
        AssertPayload(Utf8("alice-2"), alice, "after a failed batch");
        var bob = await Store.GetAsync("accounts", "bob", Token);
        Assert.Equal(1, bob?.Version);
        AssertPayload(Utf8("bob-1"), bob, "after a failed batch");
        var old = await Store.GetAsync("ledger", "old-entry", Token);
        Assert.Equal(1, old?.Version);
        AssertPayload(Utf8("old"), old, "after a failed batch");
        Assert.Null(await Store.GetAsync("ledger", "new-entry", Token));
        Assert.Null(await Store.GetAsync("accounts", "new-account", Token));
        Assert.Equal(["alice", "bob"], await ScanKeysAsync("accounts"));
        Assert.Equal(["old-entry"], await ScanKeysAsync("ledger"));
    }
}
