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
