namespace Persistence.Testing;

public abstract partial class StoreConformanceTests
{
    /// <summary>A put with a time-to-live sets ExpiresAt to the write time plus the time-to-live, to the tick.</summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task PutAsync_WithTimeToLive_SetsExpiresAtToNowPlusTtl()
    {
        Time.Advance(TimeSpan.FromTicks(7_654_321));
        var now = Time.GetUtcNow();
        var ttl = TimeSpan.FromMinutes(10) + TimeSpan.FromTicks(12_345);

        await Store.PutAsync("ttl", "k", Utf8("x"), new PutOptions { TimeToLive = ttl }, Token);

        var entry = await Store.GetAsync("ttl", "k", Token);
        Assert.NotNull(entry);
        AssertTime(now + ttl, entry.ExpiresAt, "ExpiresAt");
        AssertTime(now, entry.CreatedAt, "CreatedAt");
    }

    /// <summary>Before its expiry a record is visible to every read.</summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task GetAsync_BeforeExpiry_RecordIsVisibleEverywhere()
    {
        await Store.PutAsync("ttl", "k", Document("""{"status":"live"}"""), new PutOptions { TimeToLive = TimeSpan.FromMinutes(10) }, Token);

        Time.Advance(TimeSpan.FromMinutes(10) - TimeSpan.FromSeconds(1));

        Assert.NotNull(await Store.GetAsync("ttl", "k", Token));
        Assert.NotNull((await Store.GetManyAsync("ttl", ["k"], Token))[0]);
        Assert.Equal(1, await Store.CountAsync("ttl", Token));
        Assert.Equal(["k"], await ScanKeysAsync("ttl"));
        Assert.Equal(["k"], await QueryKeysAsync("ttl", new Query().Where("status", QueryOperator.Equal, "live")));
        Assert.Contains("ttl", await ListCollectionNamesAsync());
    }

    /// <summary>After its expiry a record is invisible to Get, GetMany, Count, Scan, Query and ListCollections at once.</summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task GetAsync_AfterExpiry_RecordIsInvisibleEverywhere()
    {
        await Store.PutAsync("ttl", "short", Document("""{"status":"live"}"""), new PutOptions { TimeToLive = TimeSpan.FromMinutes(10) }, Token);
        await Store.PutAsync("mixed", "short", Document("""{"status":"live"}"""), new PutOptions { TimeToLive = TimeSpan.FromMinutes(10) }, Token);
        await Store.PutAsync("mixed", "long", Document("""{"status":"live"}"""), new PutOptions { TimeToLive = TimeSpan.FromHours(10) }, Token);
        await Store.PutAsync("mixed", "forever", Document("""{"status":"live"}"""), cancellationToken: Token);

        Time.Advance(TimeSpan.FromMinutes(10) + TimeSpan.FromSeconds(1));

        Assert.Null(await Store.GetAsync("ttl", "short", Token));
        Assert.Null(await Store.GetAsync("mixed", "short", Token));
        Assert.NotNull(await Store.GetAsync("mixed", "long", Token));
        var many = await Store.GetManyAsync("mixed", ["short", "long", "forever"], Token);
        Assert.Null(many[0]);
        Assert.Equal("long", many[1]?.Key);
        Assert.Equal("forever", many[2]?.Key);
        Assert.Equal(0, await Store.CountAsync("ttl", Token));
        Assert.Equal(2, await Store.CountAsync("mixed", Token));
        Assert.Empty(await ScanKeysAsync("ttl"));
        Assert.Equal(["forever", "long"], await ScanKeysAsync("mixed"));
        Assert.Empty(await QueryKeysAsync("ttl", new Query().Where("status", QueryOperator.Equal, "live")));
        Assert.Equal(["forever", "long"], await QueryKeysAsync("mixed", new Query().Where("status", QueryOperator.Equal, "live")));
        Assert.Equal(["mixed"], await ListCollectionNamesAsync());
    }

    /// <summary>An expired record counts as missing for writes: a put restarts at version 1, create-only succeeds, expected versions see it as missing, delete returns false.</summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task PutAsync_AfterExpiry_RestartsAtVersionOne()
    {
        await Store.PutAsync("ttl", "a", Utf8("1"), cancellationToken: Token);
        await Store.PutAsync("ttl", "a", Utf8("2"), new PutOptions { TimeToLive = TimeSpan.FromMinutes(1) }, Token);
        await Store.PutAsync("ttl", "b", Utf8("1"), new PutOptions { TimeToLive = TimeSpan.FromMinutes(1) }, Token);
        await Store.PutAsync("ttl", "c", Utf8("1"), new PutOptions { TimeToLive = TimeSpan.FromMinutes(1) }, Token);
        await Store.PutAsync("ttl", "d", Utf8("1"), new PutOptions { TimeToLive = TimeSpan.FromMinutes(1) }, Token);
        Time.Advance(TimeSpan.FromMinutes(2));
        var now = Time.GetUtcNow();

        Assert.Equal(1, await Store.PutAsync("ttl", "a", Utf8("new"), cancellationToken: Token));
        Assert.Equal(1, await Store.PutAsync("ttl", "b", Utf8("new"), new PutOptions { ExpectedVersion = 0 }, Token));
        var conflict = await Assert.ThrowsAsync<ConcurrencyConflictException>(
            async () => await Store.PutAsync("ttl", "c", Utf8("new"), new PutOptions { ExpectedVersion = 1 }, Token));
        Assert.Null(conflict.ActualVersion);
        Assert.False(await Store.DeleteAsync("ttl", "d", cancellationToken: Token));

        var a = await Store.GetAsync("ttl", "a", Token);
        Assert.NotNull(a);
        Assert.Equal(1, a.Version);
        AssertTime(now, a.CreatedAt, "CreatedAt of a record written over an expired one");
        AssertTime(null, a.ExpiresAt, "ExpiresAt of a record written without a time-to-live");
        Assert.Null(await Store.GetAsync("ttl", "c", Token));
        Assert.Equal(["a", "b"], await ScanKeysAsync("ttl"));
    }

    /// <summary>A put without a time-to-live over a record that had one clears the expiry.</summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task PutAsync_WithoutTtlOverRecordWithTtl_ClearsExpiry()
    {
        await Store.PutAsync("ttl", "k", Utf8("1"), new PutOptions { TimeToLive = TimeSpan.FromMinutes(1) }, Token);

        Assert.Equal(2, await Store.PutAsync("ttl", "k", Utf8("2"), cancellationToken: Token));
        Time.Advance(TimeSpan.FromHours(1));

        var entry = await Store.GetAsync("ttl", "k", Token);
        Assert.NotNull(entry);
        Assert.Equal(2, entry.Version);
        AssertTime(null, entry.ExpiresAt, "ExpiresAt after a write without a time-to-live");
        Assert.Equal(1, await Store.CountAsync("ttl", Token));
    }

    /// <summary>A put with a new time-to-live over a record replaces its expiry.</summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task PutAsync_NewTtl_ReplacesExpiry()
    {
        await Store.PutAsync("ttl", "k", Utf8("1"), new PutOptions { TimeToLive = TimeSpan.FromMinutes(1) }, Token);
        Time.Advance(TimeSpan.FromSeconds(30));
        var now = Time.GetUtcNow();

        await Store.PutAsync("ttl", "k", Utf8("2"), new PutOptions { TimeToLive = TimeSpan.FromMinutes(5) }, Token);
        Time.Advance(TimeSpan.FromMinutes(2));

        var entry = await Store.GetAsync("ttl", "k", Token);
        Assert.NotNull(entry);
        AssertTime(now + TimeSpan.FromMinutes(5), entry.ExpiresAt, "ExpiresAt after a new time-to-live");
        Time.Advance(TimeSpan.FromMinutes(4));
        Assert.Null(await Store.GetAsync("ttl", "k", Token));
    }

    /// <summary>A batch put with a time-to-live expires like a single put.</summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task CommitAsync_PutWithTtl_Expires()
    {
        var now = Time.GetUtcNow();

        await Store.CommitAsync(new WriteBatch().Put("ttl", "k", Utf8("x"), new PutOptions { TimeToLive = TimeSpan.FromMinutes(3) }), Token);

        AssertTime(now + TimeSpan.FromMinutes(3), (await Store.GetAsync("ttl", "k", Token))?.ExpiresAt, "ExpiresAt of a batch put");
        Time.Advance(TimeSpan.FromMinutes(4));
        Assert.Null(await Store.GetAsync("ttl", "k", Token));
        Assert.Equal(0, await Store.CountAsync("ttl", Token));
    }
}
