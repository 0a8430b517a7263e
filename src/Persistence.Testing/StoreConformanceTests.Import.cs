namespace Persistence.Testing;

public abstract partial class StoreConformanceTests
{
    /// <summary>Imported entries keep their versions and timestamps exactly, to the tick, and later writes continue from the imported version.</summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task ImportAsync_Entries_KeepVersionsAndTimestampsToTheTick()
    {
        var created = new DateTimeOffset(2024, 2, 29, 13, 14, 15, TimeSpan.Zero).AddTicks(1_234_567);
        var updated = new DateTimeOffset(2025, 7, 1, 8, 0, 0, TimeSpan.FromHours(2)).AddTicks(9_876_543);
        var expires = StartTime.AddDays(30).AddTicks(4_321);
        StoreEntry[] entries =
        [
            new("imported", "a", Utf8("A"), 7, created, updated, null),
            new("imported", "b", Utf8("B"), 1, created, created, expires),
            new("imported-too", "😀/..", Utf8("C"), 42, updated, updated, null),
        ];

        var result = await Store.ImportAsync(entries, ImportMode.Overwrite, Token);

        Assert.Equal(new ImportResult(3, 0), result);
        foreach (var expected in entries)
        {
            var actual = await Store.GetAsync(expected.Collection, expected.Key, Token);
            Assert.NotNull(actual);
            AssertImported(expected, actual);
        }

        AssertImported(entries[0], (await ScanAllAsync("imported"))[0]);
        Time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(8, await Store.PutAsync("imported", "a", Utf8("A2"), new PutOptions { ExpectedVersion = 7 }, Token));
        var next = await Store.GetAsync("imported", "a", Token);
        Assert.NotNull(next);
        AssertTime(created, next.CreatedAt, "CreatedAt of an imported record after an update");
        AssertTime(Time.GetUtcNow(), next.UpdatedAt, "UpdatedAt of an imported record after an update");
        Assert.Equal(["imported", "imported-too"], await ListCollectionNamesAsync());
    }

    /// <summary>Overwrite replaces existing records with the imported ones, versions included.</summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task ImportAsync_Overwrite_ReplacesExisting()
    {
        for (var i = 0; i < 5; i++)
        {
            await Store.PutAsync("items", "existing", Utf8($"local-{i}"), cancellationToken: Token);
        }

        var imported = new StoreEntry("items", "existing", Utf8("imported"), 2, StartTime.AddDays(-3), StartTime.AddDays(-2), null);
        var fresh = new StoreEntry("items", "fresh", Utf8("fresh"), 3, StartTime.AddDays(-3), StartTime.AddDays(-1), null);

        var result = await Store.ImportAsync([imported, fresh], ImportMode.Overwrite, Token);

        Assert.Equal(new ImportResult(2, 0), result);
        AssertImported(imported, await Store.GetAsync("items", "existing", Token));
        AssertImported(fresh, await Store.GetAsync("items", "fresh", Token));
    }

    /// <summary>PreserveExisting keeps existing records, imports the others and reports the skipped ones.</summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task ImportAsync_PreserveExisting_KeepsExistingAndImportsOthers()
    {
        await Store.PutAsync("items", "existing", Utf8("local"), cancellationToken: Token);
        var before = await Store.GetAsync("items", "existing", Token);
        var imported = new StoreEntry("items", "existing", Utf8("imported"), 9, StartTime.AddDays(-3), StartTime.AddDays(-2), null);
        var fresh = new StoreEntry("items", "fresh", Utf8("fresh"), 4, StartTime.AddDays(-3), StartTime.AddDays(-1), null);
        var elsewhere = new StoreEntry("others", "existing", Utf8("other"), 2, StartTime.AddDays(-3), StartTime.AddDays(-1), null);

        var result = await Store.ImportAsync([imported, fresh, elsewhere], ImportMode.PreserveExisting, Token);

        Assert.Equal(new ImportResult(2, 1), result);
        Assert.NotNull(before);
        AssertImported(before, await Store.GetAsync("items", "existing", Token));
        AssertImported(fresh, await Store.GetAsync("items", "fresh", Token));
        AssertImported(elsewhere, await Store.GetAsync("others", "existing", Token));
    }

    /// <summary>FailOnConflict throws when any key exists and writes nothing at all, in any collection.</summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task ImportAsync_FailOnConflict_WritesNothing()
    {
        await Store.PutAsync("items", "existing", Utf8("local"), cancellationToken: Token);
        await Store.PutAsync("items", "existing", Utf8("local-2"), cancellationToken: Token);
        StoreEntry[] entries =
        [
            new("items", "fresh-1", Utf8("fresh"), 1, StartTime, StartTime, null),
            new("others", "fresh-2", Utf8("fresh"), 1, StartTime, StartTime, null),
            new("items", "existing", Utf8("imported"), 5, StartTime, StartTime, null),
            new("items", "fresh-3", Utf8("fresh"), 1, StartTime, StartTime, null),
        ];

        var ex = await Assert.ThrowsAsync<ConcurrencyConflictException>(async () => await Store.ImportAsync(entries, ImportMode.FailOnConflict, Token));

        Assert.Equal("items", ex.Collection);
        Assert.Equal("existing", ex.Key);
        Assert.Equal(2, ex.ActualVersion);
        var existing = await Store.GetAsync("items", "existing", Token);
        Assert.Equal(2, existing?.Version);
        AssertPayload(Utf8("local-2"), existing);
        Assert.Equal(["existing"], await ScanKeysAsync("items"));
        Assert.Equal(["items"], await ListCollectionNamesAsync());
    }

    /// <summary>FailOnConflict imports everything when no key exists.</summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task ImportAsync_FailOnConflictWithoutConflicts_ImportsAll()
    {
        await Store.PutAsync("items", "existing", Utf8("local"), cancellationToken: Token);
        StoreEntry[] entries =
        [
            new("items", "fresh-1", Utf8("fresh"), 3, StartTime, StartTime, null),
            new("others", "existing", Utf8("fresh"), 1, StartTime, StartTime, null),
        ];

        Assert.Equal(new ImportResult(2, 0), await Store.ImportAsync(entries, ImportMode.FailOnConflict, Token));

        Assert.Equal(["existing", "fresh-1"], await ScanKeysAsync("items"));
        AssertImported(entries[0], await Store.GetAsync("items", "fresh-1", Token));
        AssertImported(entries[1], await Store.GetAsync("others", "existing", Token));
    }

    /// <summary>
    /// An import that holds one key twice is refused before anything is written, whether the repeat follows its first
    /// occurrence directly, comes after entries out of key order, or the entries were in order until then.
    /// </summary>
    /// <param name="keys">The imported keys, as <c>collection/key</c>.</param>
    /// <returns>A task that completes when the test is done.</returns>
    [Theory]
    [InlineData("items/a", "items/b", "items/b")]
    [InlineData("items/a", "items/c", "items/b", "items/c")]
    [InlineData("items/b", "items/a", "items/b")]
    [InlineData("items/a", "others/a", "items/b", "items/a")]
    public async Task ImportAsync_RepeatedKey_IsRefusedBeforeAnythingIsWritten(params string[] keys)
    {
        var entries = EntriesOf(keys);

        var ex = await Assert.ThrowsAsync<ArgumentException>(async () => await Store.ImportAsync(entries, ImportMode.Overwrite, Token));

        Assert.Contains("more than once", ex.Message, StringComparison.Ordinal);
        Assert.Empty(await ListCollectionNamesAsync());
    }

    /// <summary>The same key in two collections is no repeat, in key order or not.</summary>
    /// <param name="keys">The imported keys, as <c>collection/key</c>.</param>
    /// <returns>A task that completes when the test is done.</returns>
    [Theory]
    [InlineData("items/a", "items/b", "others/a", "others/b")]
    [InlineData("others/a", "items/a", "items/b", "others/b")]
    public async Task ImportAsync_SameKeyInTwoCollections_ImportsBoth(params string[] keys)
    {
        var result = await Store.ImportAsync(EntriesOf(keys), ImportMode.FailOnConflict, Token);

        Assert.Equal(new ImportResult(4, 0), result);
        Assert.Equal(["a", "b"], await ScanKeysAsync("items"));
        Assert.Equal(["a", "b"], await ScanKeysAsync("others"));
    }

    private static StoreEntry[] EntriesOf(string[] keys)
        => [.. keys.Select((name, i) => new StoreEntry(name.Split('/')[0], name.Split('/')[1], Utf8($"v{i}"), 1, StartTime, StartTime, null))];

    /// <summary>An imported entry whose expiry has passed is invisible, like any expired record.</summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task ImportAsync_EntryWithPassedExpiry_IsInvisible()
    {
        StoreEntry[] entries =
        [
            new("items", "expired", Utf8("x"), 3, StartTime.AddDays(-2), StartTime.AddDays(-2), StartTime.AddDays(-1)),
            new("items", "live", Utf8("y"), 3, StartTime.AddDays(-2), StartTime.AddDays(-2), StartTime.AddDays(1)),
        ];

        await Store.ImportAsync(entries, ImportMode.Overwrite, Token);

        Assert.Null(await Store.GetAsync("items", "expired", Token));
        Assert.Equal(["live"], await ScanKeysAsync("items"));
        Assert.Equal(1, await Store.CountAsync("items", Token));
    }

    private static void AssertImported(StoreEntry expected, StoreEntry? actual)
    {
        Assert.NotNull(actual);
        var what = $"'{expected.Collection}/{expected.Key}'";
        Assert.Equal(expected.Collection, actual.Collection);
        Assert.Equal(expected.Key, actual.Key);
        Assert.True(expected.Version == actual.Version, $"The version of {what} is {actual.Version}, expected {expected.Version}.");
        AssertPayload(expected.Payload.ToArray(), actual, $"for {what}");
        AssertTime(expected.CreatedAt, actual.CreatedAt, $"CreatedAt of {what}");
        AssertTime(expected.UpdatedAt, actual.UpdatedAt, $"UpdatedAt of {what}");
        AssertTime(expected.ExpiresAt, actual.ExpiresAt, $"ExpiresAt of {what}");
    }
}
