namespace Persistence.Testing;

public abstract partial class StoreConformanceTests
{
    /// <summary>ExistsAsync answers for live records only: false before a write, after a delete and once a record expires.</summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task ExistsAsync_FollowsWritesDeletesAndExpiry()
    {
        Assert.False(await Store.ExistsAsync("exists", "k", Token));

        await Store.PutAsync("exists", "k", Utf8("v"), cancellationToken: Token);
        await Store.PutAsync("exists", "short", Utf8("v"), new PutOptions { TimeToLive = TimeSpan.FromMinutes(1) }, Token);
        Assert.True(await Store.ExistsAsync("exists", "k", Token));
        Assert.True(await Store.ExistsAsync("exists", "short", Token));
        Assert.False(await Store.ExistsAsync("exists", "K", Token));
        Assert.False(await Store.ExistsAsync("other", "k", Token));

        Time.Advance(TimeSpan.FromMinutes(1));
        Assert.False(await Store.ExistsAsync("exists", "short", Token));

        await Store.DeleteAsync("exists", "k", cancellationToken: Token);
        Assert.False(await Store.ExistsAsync("exists", "k", Token));
    }

    /// <summary>ListKeysAsync lists the keys ScanAsync would return, with the same prefix, start-after and limit, and no expired ones.</summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task ListKeysAsync_MatchesTheKeysOfAScan()
    {
        string[] keys = ["b", "a", "\U0001F600", "\uE000", "user/1", "user/10", "user/2", "users", "ä", "Z"];
        foreach (var key in keys)
        {
            await Store.PutAsync("listing", key, Utf8(key), cancellationToken: Token);
        }

        await Store.PutAsync("listing", "expiring", Utf8("x"), new PutOptions { TimeToLive = TimeSpan.FromSeconds(30) }, Token);
        Time.Advance(TimeSpan.FromSeconds(30));

        ScanOptions?[] bounds =
        [
            null,
            new ScanOptions { Prefix = "user/" },
            new ScanOptions { StartAfter = "b", Limit = 3 },
            new ScanOptions { Prefix = "user", StartAfter = "user/10", Limit = 2 },
            new ScanOptions { StartAfter = "\U0001F600" },
        ];
        foreach (var options in bounds)
        {
            var listed = new List<string>();
            await foreach (var key in Store.ListKeysAsync("listing", options, Token))
            {
                listed.Add(key);
            }

            Assert.Equal(await ScanKeysAsync("listing", options), listed);
        }

        var all = new List<string>();
        await foreach (var key in Store.ListKeysAsync("listing", null, Token))
        {
            all.Add(key);
        }

        Assert.Equal(keys.Order(Comparer<string>.Create(Utf8Order)), all);
        await foreach (var unused in Store.ListKeysAsync("empty-collection", null, Token))
        {
            Assert.Fail("An empty collection has no keys.");
        }
    }

    /// <summary>ExistsAsync and ListKeysAsync refuse invalid names and bounds with ArgumentException, as every other operation does.</summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task ExistsAndListKeys_InvalidArguments_Throw()
    {
        foreach (var collection in InvalidCollections)
        {
            await Assert.ThrowsAnyAsync<ArgumentException>(async () => await Store.ExistsAsync(collection, "k", Token));
            await Assert.ThrowsAnyAsync<ArgumentException>(async () => { await foreach (var unused in Store.ListKeysAsync(collection, null, Token)) { } });
        }

        foreach (var key in InvalidKeys)
        {
            await Assert.ThrowsAnyAsync<ArgumentException>(async () => await Store.ExistsAsync("items", key, Token));
        }

        await Assert.ThrowsAnyAsync<ArgumentException>(async () => { await foreach (var unused in Store.ListKeysAsync("items", new ScanOptions { Limit = 0 }, Token)) { } });
    }
}
