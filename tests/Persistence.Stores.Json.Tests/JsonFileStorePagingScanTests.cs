using System.Globalization;
using FluentAssertions;
using Persistence.FileStorage;

namespace Persistence.Stores.Json.Tests;

/// <summary>
/// A paging scan of a <see cref="FileLayout.FilePerRecord"/> collection (each page starting after the last key of the
/// previous one, as backup and migration page) reuses the directory's sorted listing while nothing changed: these prove
/// every change between pages is still seen, whoever makes it.
/// </summary>
/// <remarks>
/// A listing is only reused when the directory was last written long enough before it was taken, so most tests age the
/// directory's last-write time first. Tests of one detection path put the time back after their write, as a file system
/// with coarse timestamps would leave it, so that only the path under test can reveal the change.
/// </remarks>
public sealed class JsonFileStorePagingScanTests : IDisposable
{
    private static readonly DateTime LongAgo = new(2025, 6, 1, 12, 0, 0, DateTimeKind.Utc);
    private readonly TempDirectory _root = new();
    private readonly TempDirectory _elsewhere = new();

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public void Dispose()
    {
        _root.Dispose();
        _elsewhere.Dispose();
    }

    [Fact]
    public async Task NextPage_AfterAWriteThroughTheSameStore_SeesIt()
    {
        await using var store = await OpenWithAsync(10);
        (await PageAsync(store, null, 3)).Should().Equal("k000", "k001", "k002");

        await store.PutAsync("items", "k0055", StoreFactory.Utf8("new"), cancellationToken: Token);
        await store.PutAsync("items", "k001", StoreFactory.Utf8("changed"), cancellationToken: Token);
        Age();

        (await PageAsync(store, "k002", 4)).Should().Equal("k003", "k004", "k005", "k0055");
        StoreFactory.Text(await store.GetAsync("items", "k0055", Token)).Should().Be("new");
    }

    [Fact]
    public async Task NextPage_AfterAWriteThroughASecondInstanceOnTheRoot_SeesIt()
    {
        await using var store = await OpenWithAsync(10);
        await using var second = StoreFactory.Open(_root.Path, FileLayout.FilePerRecord, durability: FileDurability.None);
        (await PageAsync(store, null, 3)).Should().Equal("k000", "k001", "k002");

        await second.PutAsync("items", "k0025", StoreFactory.Utf8("{}"), cancellationToken: Token);
        Age();

        (await PageAsync(store, "k002", 2)).Should().Equal("k0025", "k003");
    }

    [Fact]
    public async Task NextPage_AfterAFileWrittenByAnotherProcess_SeesIt()
    {
        await using var store = await OpenWithAsync(10);
        (await PageAsync(store, null, 3)).Should().Equal("k000", "k001", "k002");

        // What another process's store does: a temporary file renamed into place, which no counter of this process sees.
        var directory = Path.Join(_root.Path, "items");
        var temp = Path.Join(directory, ".other.tmp");
        File.Copy(await RecordFileAsync("k0035"), temp);
        File.Move(temp, Path.Join(directory, "k0035.json"));
        File.SetLastWriteTimeUtc(Path.Join(directory, "k0035.json"), LongAgo);

        (await PageAsync(store, "k002", 3)).Should().Equal("k003", "k0035", "k004");
    }

    [Fact]
    public async Task NextPage_AfterWritesOfARealChildProcess_SeesThem()
    {
        await using var store = StoreFactory.Open(_root.Path, FileLayout.FilePerRecord, durability: FileDurability.None);
        foreach (var key in new[] { "a", "c", "e", "g" })
        {
            await store.PutAsync("counters", key, StoreFactory.Utf8("0"), cancellationToken: Token);
        }

        Age("counters");
        (await PageAsync(store, null, 2, "counters")).Should().Equal("a", "c");

        using (var worker = WorkerProcess.Start("cas", _root.Path, nameof(FileLayout.FilePerRecord), "1", "d", "f"))
        {
            await worker.WaitForAsync("done", TimeSpan.FromSeconds(60));
            worker.WaitForExit(TimeSpan.FromSeconds(30)).Should().Be(0, worker.Errors);
        }

        (await PageAsync(store, "c", 10, "counters")).Should().Equal("d", "e", "f", "g");
    }

    [Fact]
    public async Task NextPage_AfterDeletes_DoesNotReturnThem()
    {
        await using var store = await OpenWithAsync(10);
        (await PageAsync(store, null, 3)).Should().Equal("k000", "k001", "k002");

        // One delete through the store (seen by this process's count), one by another process (seen by the directory time).
        (await store.DeleteAsync("items", "k003", cancellationToken: Token)).Should().BeTrue();
        Age();
        (await PageAsync(store, "k002", 2)).Should().Equal("k004", "k005");

        File.Delete(Path.Join(_root.Path, "items", "k006.json"));
        (await PageAsync(store, "k005", 2)).Should().Equal("k007", "k008");
    }

    [Fact]
    public async Task NextPage_AfterABatchAndAPurge_SeesThem()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        await using var store = StoreFactory.Open(_root.Path, FileLayout.FilePerRecord, time, FileDurability.None);
        for (var i = 0; i < 6; i++)
        {
            await store.PutAsync("items", Key(i), StoreFactory.Utf8("{}"), new PutOptions { TimeToLive = i == 4 ? TimeSpan.FromMinutes(1) : null }, Token);
        }

        Age();
        (await PageAsync(store, null, 2)).Should().Equal("k000", "k001");

        var batch = new WriteBatch();
        batch.Put("items", "k0025", StoreFactory.Utf8("{}"));
        batch.Delete("items", "k003");
        await store.CommitAsync(batch, Token);
        Age();
        (await PageAsync(store, "k001", 2)).Should().Equal("k002", "k0025");

        time.Advance(TimeSpan.FromMinutes(2));
        (await store.PurgeExpiredAsync(Token)).Should().Be(1);
        Age();
        (await PageAsync(store, "k0025", 5)).Should().Equal("k005");
    }

    [Fact]
    public async Task NextPage_ChangeThatMovesNeitherCheck_IsSeenOnceTheDirectoryTimeMoves()
    {
        await using var store = await OpenWithAsync(10);
        (await PageAsync(store, null, 3)).Should().Equal("k000", "k001", "k002");

        // A name added by hand with the directory's time put back: nothing tells the kept listing it changed (this is
        // the case the timestamp-resolution rule keeps from happening by accident), so the next page still uses it...
        var directory = Path.Join(_root.Path, "items");
        File.Copy(await RecordFileAsync("k0035"), Path.Join(directory, "k0035.json"));
        Age();
        (await PageAsync(store, "k002", 2)).Should().Equal("k003", "k004");

        // ...until the directory's time moves.
        Directory.SetLastWriteTimeUtc(directory, LongAgo.AddSeconds(1));
        (await PageAsync(store, "k002", 2)).Should().Equal("k003", "k0035");
    }

    [Fact]
    public async Task NextPage_DirectoryWrittenWithinTheTimestampResolution_IsListedAgain()
    {
        await using var store = await OpenWithAsync(10);

        // A directory written just now: a later change in the same timestamp step would leave its time unchanged.
        var directory = Path.Join(_root.Path, "items");
        var recent = DateTime.UtcNow;
        Directory.SetLastWriteTimeUtc(directory, recent);
        (await PageAsync(store, null, 3)).Should().Equal("k000", "k001", "k002");

        File.Copy(await RecordFileAsync("k0035"), Path.Join(directory, "k0035.json"));
        Directory.SetLastWriteTimeUtc(directory, recent);

        (await PageAsync(store, "k002", 2)).Should().Equal("k003", "k0035");
    }

    [Fact]
    public async Task LongPagingScan_ReturnsEveryKeyOnceInOrder()
    {
        const int Count = 3000;
        await using var store = StoreFactory.Open(_root.Path, FileLayout.FilePerRecord, durability: FileDurability.None);
        var keys = new List<string>();
        foreach (var chunk in Enumerable.Range(0, Count).Chunk(500))
        {
            var entries = chunk.Select(i =>
            {
                // Every 97th key is long enough for a hashed file name: its key is read from the file.
                var key = i % 97 == 0 ? Key(i) + new string('x', 200) : Key(i);
                keys.Add(key);
                return new StoreEntry("items", key, StoreFactory.Utf8("{}"), 1, DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch, null);
            }).ToArray();
            await store.ImportAsync(entries, ImportMode.Overwrite, Token);
        }

        Age();
        keys.Sort(KeyComparer.Instance);

        var seen = new List<string>();
        string? after = null;
        while (true)
        {
            var page = await PageAsync(store, after, 101);
            seen.AddRange(page);
            if (page.Count < 101)
            {
                break;
            }

            after = page[^1];
        }

        seen.Should().Equal(keys);
        Directory.EnumerateFiles(Path.Join(_root.Path, "items")).Count(f => f.Contains('~', StringComparison.Ordinal)).Should().Be(31, "some names are hashed");
    }

    [Fact]
    public async Task PagingScan_WithPrefixAndStartAfter_ReturnsTheSameAsAFreshStore()
    {
        await using var store = await OpenWithAsync(30);
        await store.PutAsync("items", "a-1", StoreFactory.Utf8("{}"), cancellationToken: Token);
        await store.PutAsync("items", "z-1", StoreFactory.Utf8("{}"), cancellationToken: Token);
        Age();

        var options = new ScanOptions { Prefix = "k01", StartAfter = "k013", Limit = 4 };
        var cached = await KeysAsync(store, options);
        var again = await KeysAsync(store, options);
        
        cached.Should().Equal("k014", "k015", "k016", "k017");
        again.Should().Equal(cached, "a kept listing gives what a fresh one gave");
        (await KeysAsync(store, new ScanOptions { Prefix = "k02", Limit = 100 })).Should().HaveCount(10);
        (await KeysAsync(store, new ScanOptions { StartAfter = "k029", Limit = 100 })).Should().Equal("z-1");
        (await KeysAsync(store, new ScanOptions { Prefix = "k03", Limit = 100 })).Should().BeEmpty();
    }

    [Fact]
    public async Task PagingScan_CorruptedHashedFile_IsReportedOnEveryPage()
    {
        await using var store = await OpenWithAsync(6);
        var hashed = "k" + new string('y', 300);
        await store.PutAsync("items", hashed, StoreFactory.Utf8("{}"), cancellationToken: Token);
        var file = Directory.EnumerateFiles(Path.Join(_root.Path, "items")).Single(f => f.Contains('~', StringComparison.Ordinal));
        var valid = await File.ReadAllBytesAsync(file, Token);
        await File.WriteAllTextAsync(file, "not json", Token);
        Age();

        var reported = 0;
        var options = new ScanOptions { Limit = 2, OnCorruptedEntry = _ => reported++ };
        (await KeysAsync(store, options)).Should().Equal("k000", "k001");
        (await KeysAsync(store, options with { StartAfter = "k001" })).Should().Equal("k002", "k003");
        reported.Should().Be(2);

        // Fixed in place (no new name, so the directory's time stays): the next page finds the record again.
        await File.WriteAllBytesAsync(file, valid, Token);
        Age();
        (await KeysAsync(store, options with { StartAfter = "k004", Limit = 10 })).Should().Equal("k005", hashed);
        reported.Should().Be(2);
    }

    // A record file written by a store on another root, to be put in place by hand as another process would.
    private async Task<string> RecordFileAsync(string key)
    {
        await using var other = StoreFactory.Open(_elsewhere.Path, FileLayout.FilePerRecord, durability: FileDurability.None);
        await other.PutAsync("items", key, StoreFactory.Utf8("{}"), cancellationToken: Token);
        return Path.Join(_elsewhere.Path, "items", key + ".json");
    }

    [Theory]
    [InlineData(null)]
    [InlineData(100)]
    [InlineData(1)]
    public async Task Scan_ManyFilesWithExpiredAndCorruptedOnes_GivesWhatASequentialReadGives(int? pageSize)
    {
        // Enough files that a scan reads them on two cores: expired records, corrupted files on both sides of the middle
        // and a prefix must come out exactly as a file-by-file read in key order gives them.
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        await using var store = StoreFactory.Open(_root.Path, FileLayout.FilePerRecord, time, FileDurability.None);
        var expected = new List<string>();
        for (var i = 0; i < 300; i++)
        {
            var expires = i % 7 == 3 ? new PutOptions { TimeToLive = TimeSpan.FromMinutes(1) } : null;
            await store.PutAsync("items", Key(i), StoreFactory.Utf8($"{{\"n\":{i}}}"), expires, Token);
            if (expires is null && i is not (10 or 160 or 299))
            {
                expected.Add(Key(i));
            }
        }

        foreach (var broken in new[] { 10, 160, 299 })
        {
            await File.WriteAllTextAsync(Path.Join(_root.Path, "items", Key(broken) + ".json"), "{ not json", Token);
        }

        time.Advance(TimeSpan.FromMinutes(2));
        Age();

        var keys = new List<string>();
        var corrupted = new List<string>();
        string? after = null;
        while (true)
        {
            var page = new List<string>();
            await foreach (var entry in store.ScanAsync("items", new ScanOptions { StartAfter = after, Limit = pageSize, OnCorruptedEntry = e => corrupted.Add(Path.GetFileNameWithoutExtension(e.Path)!) }, Token))
            {
                page.Add(entry.Key);
            }

            keys.AddRange(page);
            if (pageSize is null || page.Count < pageSize)
            {
                break;
            }

            after = page[^1];
        }

        keys.Should().Equal(expected);
        corrupted.Distinct().Should().Equal(Key(10), Key(160), Key(299));
        (await KeysAsync(store, new ScanOptions { Prefix = "k1", OnCorruptedEntry = _ => { } })).Should().Equal(expected.Where(k => k.StartsWith("k1", StringComparison.Ordinal)));
        await FluentActions.Awaiting(() => KeysAsync(store, new ScanOptions { StartAfter = Key(100) })).Should().ThrowAsync<StoreCorruptedException>();
    }

    private static string Key(int i) => "k" + i.ToString("D3", CultureInfo.InvariantCulture);

    private static async Task<List<string>> KeysAsync(JsonFileStore store, ScanOptions options, string collection = "items")
    {
        var keys = new List<string>();
        await foreach (var entry in store.ScanAsync(collection, options, Token))
        {
            keys.Add(entry.Key);
        }

        return keys;
    }

    private static Task<List<string>> PageAsync(JsonFileStore store, string? after, int limit, string collection = "items")
        => KeysAsync(store, new ScanOptions { StartAfter = after, Limit = limit }, collection);

    private async Task<JsonFileStore> OpenWithAsync(int count)
    {
        var store = StoreFactory.Open(_root.Path, FileLayout.FilePerRecord, durability: FileDurability.None);
        for (var i = 0; i < count; i++)
        {
            await store.PutAsync("items", Key(i), StoreFactory.Utf8("{}"), cancellationToken: Token);
        }

        Age();
        return store;
    }

    // Moves the directory's last-write time well into the past, so that a listing of it is kept for the next page.
    private void Age(string collection = "items") => Directory.SetLastWriteTimeUtc(Path.Join(_root.Path, collection), LongAgo);
}
