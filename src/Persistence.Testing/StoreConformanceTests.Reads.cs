namespace Persistence.Testing;

public abstract partial class StoreConformanceTests
{
    /// <summary>Scans return keys in Unicode code-point order (UTF-8 byte order), not UTF-16 ordinal or culture order.</summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task ScanAsync_MixedKeys_ReturnsCodePointOrder()
    {
        string[] keys = ["b", "a", "\U0001F600", "\uE000", "\uFFFD", "Z", "aa", "a b", "ä", "z", "\uFF21", "\U00010000", "10", "9", "-", "_", "~", "\u00E9", "e\u0301", "A"];
        foreach (var key in keys)
        {
            await Store.PutAsync("order", key, Utf8(key), cancellationToken: Token);
        }

        var scanned = await ScanKeysAsync("order");

        string[] expected = ["-", "10", "9", "A", "Z", "_", "a", "a b", "aa", "b", "e\u0301", "z", "~", "ä", "\u00E9", "\uE000", "\uFF21", "\uFFFD", "\U00010000", "\U0001F600"];
        Assert.Equal(expected, scanned);
        Assert.Equal(keys.Order(Comparer<string>.Create(Utf8Order)), scanned);
    }

    /// <summary>Paging with StartAfter and Limit visits every key exactly once, in order.</summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task ScanAsync_StartAfterPaging_VisitsEveryKeyOnceInOrder()
    {
        var keys = Enumerable.Range(0, 23).Select(i => $"key-{i}").Concat(["\uE000", "\U0001F600", "ü"]).ToList();
        foreach (var key in keys)
        {
            await Store.PutAsync("paging", key, Utf8(key), cancellationToken: Token);
        }

        var visited = new List<string>();
        string? after = null;
        for (var page = 0; page < 100; page++)
        {
            var entries = await ScanKeysAsync("paging", new ScanOptions { StartAfter = after, Limit = 4 });
            Assert.True(entries.Count <= 4, $"A scan with Limit 4 returned {entries.Count} entries.");
            if (entries.Count == 0)
            {
                break;
            }

            visited.AddRange(entries);
            after = entries[^1];
        }

        Assert.Equal(keys.Order(Comparer<string>.Create(Utf8Order)).ToList(), visited);
    }

    /// <summary>StartAfter is exclusive and need not be a stored key; Limit caps the count.</summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task ScanAsync_StartAfterAndLimit_AreExclusiveAndCapped()
    {
        foreach (var key in new[] { "a", "b", "c", "d", "\uE000", "\U0001F600" })
        {
            await Store.PutAsync("bounds", key, Utf8(key), cancellationToken: Token);
        }

        Assert.Equal(["c", "d", "\uE000", "\U0001F600"], await ScanKeysAsync("bounds", new ScanOptions { StartAfter = "b" }));
        Assert.Equal(["c", "d"], await ScanKeysAsync("bounds", new ScanOptions { StartAfter = "bb", Limit = 2 }));
        Assert.Equal(["\U0001F600"], await ScanKeysAsync("bounds", new ScanOptions { StartAfter = "\uE000" }));
        Assert.Empty(await ScanKeysAsync("bounds", new ScanOptions { StartAfter = "\U0001F600" }));
        Assert.Equal(["a"], await ScanKeysAsync("bounds", new ScanOptions { Limit = 1 }));
        Assert.Equal(6, (await ScanKeysAsync("bounds", new ScanOptions { Limit = 100 })).Count);
    }

    /// <summary>A prefix scan returns exactly the keys that start with the prefix, in order, alone and with StartAfter and Limit.</summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task ScanAsync_Prefix_ReturnsMatchingKeysInOrder()
    {
        string[] keys = ["user/1", "user/2", "user/10", "user/é", "user/\U0001F600", "user/\uE000", "users", "use", "User/1", "admin/1", "user", "user/"];
        foreach (var key in keys)
        {
            await Store.PutAsync("prefix", key, Utf8(key), cancellationToken: Token);
        }

        Assert.Equal(["user/", "user/1", "user/10", "user/2", "user/é", "user/\uE000", "user/\U0001F600"], await ScanKeysAsync("prefix", new ScanOptions { Prefix = "user/" }));
        Assert.Equal(["user/10", "user/2", "user/é", "user/\uE000", "user/\U0001F600"], await ScanKeysAsync("prefix", new ScanOptions { Prefix = "user/", StartAfter = "user/1" }));
        Assert.Equal(["user/10", "user/2"], await ScanKeysAsync("prefix", new ScanOptions { Prefix = "user/", StartAfter = "user/1", Limit = 2 }));
        Assert.Equal(["user/1", "user/10"], await ScanKeysAsync("prefix", new ScanOptions { Prefix = "user/1" }));
        Assert.Equal(["user", "user/", "user/1", "user/10", "user/2", "user/é", "user/\uE000", "user/\U0001F600", "users"], await ScanKeysAsync("prefix", new ScanOptions { Prefix = "user" }));
        Assert.Equal(["admin/1"], await ScanKeysAsync("prefix", new ScanOptions { Prefix = "a" }));
        Assert.Empty(await ScanKeysAsync("prefix", new ScanOptions { Prefix = "nothing" }));
        Assert.Equal(["user/2", "user/é"], await ScanKeysAsync("prefix", new ScanOptions { Prefix = "user/", StartAfter = "user/10", Limit = 2 }));
    }

    /// <summary>Scanning or counting a collection that never existed returns nothing.</summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task ScanAsync_UnknownCollection_ReturnsNothing()
    {
        await Store.PutAsync("known", "k", Utf8("x"), cancellationToken: Token);

        Assert.Empty(await ScanAllAsync("unknown"));
        Assert.Equal(0, await Store.CountAsync("unknown", Token));
        Assert.Empty(await QueryKeysAsync("unknown", new Query()));
        Assert.Null(await Store.GetAsync("unknown", "k", Token));
    }

    /// <summary>Scanned entries carry the same collection, key, payload, version and timestamps as Get.</summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task ScanAsync_Entries_MatchGet()
    {
        await Store.PutAsync("items", "a", Utf8("a1"), cancellationToken: Token);
        Time.Advance(TimeSpan.FromSeconds(3));
        await Store.PutAsync("items", "a", Utf8("a2"), new PutOptions { TimeToLive = TimeSpan.FromDays(1) }, Token);
        await Store.PutAsync("items", "b", Utf8("b1"), cancellationToken: Token);

        foreach (var scanned in await ScanAllAsync("items"))
        {
            var got = await Store.GetAsync("items", scanned.Key, Token);
            Assert.NotNull(got);
            Assert.Equal("items", scanned.Collection);
            Assert.Equal(got.Version, scanned.Version);
            AssertPayload(got.Payload.ToArray(), scanned, "in a scan");
            AssertTime(got.CreatedAt, scanned.CreatedAt, "CreatedAt in a scan");
            AssertTime(got.UpdatedAt, scanned.UpdatedAt, "UpdatedAt in a scan");
            AssertTime(got.ExpiresAt, scanned.ExpiresAt, "ExpiresAt in a scan");
        }
    }

    /// <summary>GetMany returns one element per key in the given order, null for missing keys, and repeats duplicates.</summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task GetManyAsync_MissingAndDuplicateKeys_KeepsPositions()
    {
        await Store.PutAsync("items", "a", Utf8("A"), cancellationToken: Token);
        await Store.PutAsync("items", "b", Utf8("B"), cancellationToken: Token);
        await Store.PutAsync("items", "b", Utf8("B2"), cancellationToken: Token);
        await Store.PutAsync("others", "c", Utf8("C"), cancellationToken: Token);

        var entries = await Store.GetManyAsync("items", ["missing", "b", "c", "a", "b", "missing2", "a"], Token);

        Assert.Equal(7, entries.Count);
        Assert.Null(entries[0]);
        Assert.Equal("b", entries[1]?.Key);
        Assert.Equal(2, entries[1]?.Version);
        AssertPayload(Utf8("B2"), entries[1]);
        Assert.Null(entries[2]);
        AssertPayload(Utf8("A"), entries[3]);
        AssertPayload(Utf8("B2"), entries[4]);
        Assert.Null(entries[5]);
        AssertPayload(Utf8("A"), entries[6]);
        Assert.Empty(await Store.GetManyAsync("items", [], Token));
        Assert.Equal([null, null], await Store.GetManyAsync("unknown", ["a", "b"], Token));
    }

    /// <summary>ListCollections lists exactly the collections that hold a record, ascending; an emptied collection disappears.</summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task ListCollectionsAsync_NonEmptyCollections_ListedAscending()
    {
        Assert.Empty(await ListCollectionNamesAsync());
        string[] collections = ["zeta", "alpha", "Beta", "m-1", "m_1", "m.1", "_x", "9"];
        foreach (var collection in collections)
        {
            await Store.PutAsync(collection, "k1", Utf8("x"), cancellationToken: Token);
            await Store.PutAsync(collection, "k2", Utf8("x"), cancellationToken: Token);
        }

        Assert.Equal(collections.Order(StringComparer.Ordinal).ToList(), await ListCollectionNamesAsync());

        await Store.DeleteAsync("zeta", "k1", cancellationToken: Token);
        await Store.DeleteAsync("zeta", "k2", cancellationToken: Token);
        await Store.CommitAsync(new WriteBatch().Delete("alpha", "k1").Delete("alpha", "k2"), Token);
        await Store.DeleteAsync("Beta", "k1", cancellationToken: Token);

        Assert.Equal(["9", "Beta", "_x", "m-1", "m.1", "m_1"], await ListCollectionNamesAsync());
        Assert.Equal(0, await Store.CountAsync("zeta", Token));
        Assert.Equal(1, await Store.CountAsync("Beta", Token));
        Assert.Equal(2, await Store.CountAsync("m.1", Token));
    }

    /// <summary>Count follows puts, updates, deletes and batches.</summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task CountAsync_AfterWrites_CountsLiveRecords()
    {
        Assert.Equal(0, await Store.CountAsync("items", Token));
        for (var i = 0; i < 5; i++)
        {
            await Store.PutAsync("items", $"k{i}", Utf8("x"), cancellationToken: Token);
        }

        await Store.PutAsync("items", "k0", Utf8("y"), cancellationToken: Token);
        await Store.DeleteAsync("items", "k1", cancellationToken: Token);
        await Store.CommitAsync(new WriteBatch().Put("items", "k9", Utf8("z")).Delete("items", "k2"), Token);

        Assert.Equal(4, await Store.CountAsync("items", Token));
        Assert.Equal(4, (await ScanAllAsync("items")).Count);
    }
}
