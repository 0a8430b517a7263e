namespace Persistence.Testing;

public abstract partial class StoreConformanceTests
{
    /// <summary>The first write of a key gives version 1 and every write adds 1; Put returns what Get sees.</summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task PutAsync_RepeatedWrites_VersionStartsAtOneAndIncrements()
    {
        for (var expected = 1L; expected <= 4; expected++)
        {
            var version = await Store.PutAsync("items", "k", Utf8($"v{expected}"), cancellationToken: Token);
            Assert.Equal(expected, version);
            var entry = await Store.GetAsync("items", "k", Token);
            Assert.NotNull(entry);
            Assert.Equal(version, entry.Version);
            Assert.Equal("items", entry.Collection);
            Assert.Equal("k", entry.Key);
            AssertPayload(Utf8($"v{expected}"), entry);
        }
    }

    /// <summary>A delete forgets the key: a later create starts again at version 1.</summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task PutAsync_AfterDelete_RestartsAtVersionOne()
    {
        await Store.PutAsync("items", "k", Utf8("a"), cancellationToken: Token);
        await Store.PutAsync("items", "k", Utf8("b"), cancellationToken: Token);
        Assert.True(await Store.DeleteAsync("items", "k", cancellationToken: Token));
        Assert.Null(await Store.GetAsync("items", "k", Token));

        var version = await Store.PutAsync("items", "k", Utf8("c"), new PutOptions { ExpectedVersion = 0 }, Token);

        Assert.Equal(1, version);
        var entry = await Store.GetAsync("items", "k", Token);
        Assert.Equal(1, entry?.Version);
        AssertPayload(Utf8("c"), entry);
    }

    /// <summary>Versions are per key: writing one key does not move another's version.</summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task PutAsync_DifferentKeysAndCollections_HaveIndependentVersions()
    {
        Assert.Equal(1, await Store.PutAsync("items", "a", Utf8("1"), cancellationToken: Token));
        Assert.Equal(2, await Store.PutAsync("items", "a", Utf8("2"), cancellationToken: Token));
        Assert.Equal(1, await Store.PutAsync("items", "b", Utf8("1"), cancellationToken: Token));
        Assert.Equal(1, await Store.PutAsync("others", "a", Utf8("1"), cancellationToken: Token));
        Assert.Equal(2, (await Store.GetAsync("items", "a", Token))?.Version);
        Assert.Equal(1, (await Store.GetAsync("others", "a", Token))?.Version);

        Assert.True(await Store.DeleteAsync("others", "a", cancellationToken: Token));
        Assert.Equal(2, (await Store.GetAsync("items", "a", Token))?.Version);
        Assert.Null(await Store.GetAsync("others", "a", Token));
    }

    /// <summary>A create-only put (expected version 0) succeeds when the key is missing.</summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task PutAsync_CreateOnlyOnMissingKey_Succeeds()
    {
        var version = await Store.PutAsync("items", "new", Utf8("x"), new PutOptions { ExpectedVersion = 0 }, Token);

        Assert.Equal(1, version);
        AssertPayload(Utf8("x"), await Store.GetAsync("items", "new", Token));
    }

    /// <summary>A create-only put on an existing key conflicts, names the record and versions, and changes nothing.</summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task PutAsync_CreateOnlyOnExistingKey_ThrowsConflictAndKeepsRecord()
    {
        await Store.PutAsync("items", "k", Utf8("original"), cancellationToken: Token);

        var ex = await Assert.ThrowsAsync<ConcurrencyConflictException>(
            async () => await Store.PutAsync("items", "k", Utf8("intruder"), new PutOptions { ExpectedVersion = 0 }, Token));

        Assert.Equal("items", ex.Collection);
        Assert.Equal("k", ex.Key);
        Assert.Equal(0, ex.ExpectedVersion);
        Assert.Equal(1, ex.ActualVersion);
        var entry = await Store.GetAsync("items", "k", Token);
        Assert.Equal(1, entry?.Version);
        AssertPayload(Utf8("original"), entry);
    }

    /// <summary>A put expecting the current version succeeds and moves the version on.</summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task PutAsync_ExpectedVersionMatches_Succeeds()
    {
        await Store.PutAsync("items", "k", Utf8("1"), cancellationToken: Token);
        await Store.PutAsync("items", "k", Utf8("2"), cancellationToken: Token);

        var version = await Store.PutAsync("items", "k", Utf8("3"), new PutOptions { ExpectedVersion = 2 }, Token);

        Assert.Equal(3, version);
        AssertPayload(Utf8("3"), await Store.GetAsync("items", "k", Token));
    }

    /// <summary>A put with a stale expected version conflicts with the actual version and leaves the data unchanged.</summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task PutAsync_StaleExpectedVersion_ThrowsConflictAndLeavesDataUnchanged()
    {
        await Store.PutAsync("items", "k", Utf8("1"), cancellationToken: Token);
        await Store.PutAsync("items", "k", Utf8("2"), cancellationToken: Token);
        var before = await Store.GetAsync("items", "k", Token);
        Time.Advance(TimeSpan.FromMinutes(1));

        var ex = await Assert.ThrowsAsync<ConcurrencyConflictException>(
            async () => await Store.PutAsync("items", "k", Utf8("stale"), new PutOptions { ExpectedVersion = 1, TimeToLive = TimeSpan.FromSeconds(1) }, Token));

        Assert.Equal("items", ex.Collection);
        Assert.Equal("k", ex.Key);
        Assert.Equal(1, ex.ExpectedVersion);
        Assert.Equal(2, ex.ActualVersion);
        var after = await Store.GetAsync("items", "k", Token);
        Assert.NotNull(before);
        Assert.NotNull(after);
        Assert.Equal(2, after.Version);
        AssertPayload(Utf8("2"), after);
        AssertTime(before.UpdatedAt, after.UpdatedAt, "UpdatedAt after a failed write");
        AssertTime(null, after.ExpiresAt, "ExpiresAt after a failed write");
    }

    /// <summary>A put expecting a version of a missing key conflicts with a null actual version and creates nothing.</summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task PutAsync_ExpectedVersionOnMissingKey_ThrowsConflictWithNullActual()
    {
        var ex = await Assert.ThrowsAsync<ConcurrencyConflictException>(
            async () => await Store.PutAsync("items", "ghost", Utf8("x"), new PutOptions { ExpectedVersion = 3 }, Token));

        Assert.Equal("items", ex.Collection);
        Assert.Equal("ghost", ex.Key);
        Assert.Equal(3, ex.ExpectedVersion);
        Assert.Null(ex.ActualVersion);
        Assert.Null(await Store.GetAsync("items", "ghost", Token));
        Assert.Equal(0, await Store.CountAsync("items", Token));
    }

    /// <summary>Deleting an existing key returns true and the record disappears.</summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task DeleteAsync_ExistingKey_ReturnsTrueAndRemovesRecord()
    {
        await Store.PutAsync("items", "k", Utf8("x"), cancellationToken: Token);
        await Store.PutAsync("items", "other", Utf8("y"), cancellationToken: Token);

        Assert.True(await Store.DeleteAsync("items", "k", cancellationToken: Token));

        Assert.Null(await Store.GetAsync("items", "k", Token));
        Assert.Equal(["other"], await ScanKeysAsync("items"));
        Assert.Equal(1, await Store.CountAsync("items", Token));
    }

    /// <summary>Deleting a missing key returns false.</summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task DeleteAsync_MissingKey_ReturnsFalse()
    {
        Assert.False(await Store.DeleteAsync("items", "missing", cancellationToken: Token));
        await Store.PutAsync("items", "k", Utf8("x"), cancellationToken: Token);
        Assert.False(await Store.DeleteAsync("items", "missing", cancellationToken: Token));
        Assert.True(await Store.DeleteAsync("items", "k", cancellationToken: Token));
        Assert.False(await Store.DeleteAsync("items", "k", cancellationToken: Token));
    }

    /// <summary>A delete with the current expected version succeeds.</summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task DeleteAsync_ExpectedVersionMatches_Deletes()
    {
        await Store.PutAsync("items", "k", Utf8("1"), cancellationToken: Token);
        await Store.PutAsync("items", "k", Utf8("2"), cancellationToken: Token);

        Assert.True(await Store.DeleteAsync("items", "k", 2, Token));

        Assert.Null(await Store.GetAsync("items", "k", Token));
    }

    /// <summary>A delete with a stale expected version conflicts and keeps the record.</summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task DeleteAsync_StaleExpectedVersion_ThrowsConflictAndKeepsRecord()
    {
        await Store.PutAsync("items", "k", Utf8("1"), cancellationToken: Token);
        await Store.PutAsync("items", "k", Utf8("2"), cancellationToken: Token);

        var ex = await Assert.ThrowsAsync<ConcurrencyConflictException>(async () => await Store.DeleteAsync("items", "k", 1, Token));

        Assert.Equal("items", ex.Collection);
        Assert.Equal("k", ex.Key);
        Assert.Equal(1, ex.ExpectedVersion);
        Assert.Equal(2, ex.ActualVersion);
        var entry = await Store.GetAsync("items", "k", Token);
        Assert.Equal(2, entry?.Version);
        AssertPayload(Utf8("2"), entry);
    }

    /// <summary>A delete expecting a version of a missing key conflicts with a null actual version.</summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task DeleteAsync_ExpectedVersionOnMissingKey_ThrowsConflictWithNullActual()
    {
        var ex = await Assert.ThrowsAsync<ConcurrencyConflictException>(async () => await Store.DeleteAsync("items", "ghost", 1, Token));

        Assert.Equal("ghost", ex.Key);
        Assert.Equal(1, ex.ExpectedVersion);
        Assert.Null(ex.ActualVersion);
    }

    /// <summary>CreatedAt survives updates while UpdatedAt moves with the clock, to the tick.</summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task PutAsync_Update_KeepsCreatedAtAndMovesUpdatedAt()
    {
        var created = Time.GetUtcNow();
        await Store.PutAsync("items", "k", Utf8("1"), cancellationToken: Token);
        var first = await Store.GetAsync("items", "k", Token);
        Assert.NotNull(first);
        AssertTime(created, first.CreatedAt, "CreatedAt of a new record");
        AssertTime(created, first.UpdatedAt, "UpdatedAt of a new record");
        AssertTime(null, first.ExpiresAt, "ExpiresAt without a time-to-live");

        Time.Advance(TimeSpan.FromMinutes(5) + TimeSpan.FromTicks(1_234_567));
        var updated = Time.GetUtcNow();
        await Store.PutAsync("items", "k", Utf8("2"), cancellationToken: Token);
        var second = await Store.GetAsync("items", "k", Token);

        Assert.NotNull(second);
        AssertTime(created, second.CreatedAt, "CreatedAt after an update");
        AssertTime(updated, second.UpdatedAt, "UpdatedAt after an update");
        Assert.True(second.UpdatedAt > first.UpdatedAt, "UpdatedAt must move forward.");
    }

    /// <summary>A record re-created after a delete gets a new CreatedAt.</summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task PutAsync_RecreateAfterDelete_GetsNewCreatedAt()
    {
        await Store.PutAsync("items", "k", Utf8("1"), cancellationToken: Token);
        await Store.DeleteAsync("items", "k", cancellationToken: Token);
        Time.Advance(TimeSpan.FromHours(1));
        var now = Time.GetUtcNow();

        await Store.PutAsync("items", "k", Utf8("2"), cancellationToken: Token);

        var entry = await Store.GetAsync("items", "k", Token);
        Assert.NotNull(entry);
        AssertTime(now, entry.CreatedAt, "CreatedAt of a re-created record");
        AssertTime(now, entry.UpdatedAt, "UpdatedAt of a re-created record");
    }
}
