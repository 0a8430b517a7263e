using FluentAssertions;
using Microsoft.Extensions.Time.Testing;
using Persistence.FileStorage;

namespace Persistence.Stores.Json.Tests;

/// <summary>Files that cannot be parsed are reported, skipped on request, and never overwritten silently.</summary>
public sealed class JsonFileStoreCorruptionTests : IDisposable
{
    private readonly TempDirectory _root = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public void Dispose() => _root.Dispose();

    [Theory]
    [InlineData("{ not json")]
    [InlineData("{\"key\":\"b\",\"version\":1,\"createdAt\":\"2026-01-01T00:00:00Z\",\"updatedAt\":\"2026-01-01T00:00:00Z\",\"data\":{\"a\":")]
    [InlineData("{\"key\":\"b\",\"createdAt\":\"2026-01-01T00:00:00Z\",\"updatedAt\":\"2026-01-01T00:00:00Z\",\"data\":1}")]
    [InlineData("{\"key\":\"other\",\"version\":1,\"createdAt\":\"2026-01-01T00:00:00Z\",\"updatedAt\":\"2026-01-01T00:00:00Z\",\"data\":1}")]
    [InlineData("{\"key\":\"b\",\"version\":0,\"createdAt\":\"2026-01-01T00:00:00Z\",\"updatedAt\":\"2026-01-01T00:00:00Z\",\"data\":1}")]
    [InlineData("{\"key\":\"b\",\"version\":1,\"createdAt\":\"yesterday\",\"updatedAt\":\"2026-01-01T00:00:00Z\",\"data\":1}")]
    [InlineData("{\"key\":\"b\",\"version\":1,\"createdAt\":\"2026-01-01T00:00:00Z\",\"updatedAt\":\"2026-01-01T00:00:00Z\",\"dataBase64\":\"***\"}")]
    [InlineData("{} {}")]
    [InlineData("")]
    public async Task FilePerRecord_CorruptedFile_IsReportedNamedSkippedAndNeverOverwritten(string content)
    {
        await using var store = StoreFactory.Open(_root.Path, FileLayout.FilePerRecord, _time);
        await store.PutAsync("items", "a", StoreFactory.Utf8("1"), cancellationToken: Token);
        await store.PutAsync("items", "b", StoreFactory.Utf8("2"), cancellationToken: Token);
        await store.PutAsync("items", "c", StoreFactory.Utf8("3"), cancellationToken: Token);
        var path = _root.Combine("items", "b.json");
        await File.WriteAllTextAsync(path, content, Token);

        var get = async () => await store.GetAsync("items", "b", Token);
        var thrown = await get.Should().ThrowAsync<StoreCorruptedException>();
        thrown.Which.Path.Should().Be(path);
        thrown.Which.Key.Should().Be("b");
        thrown.Which.Collection.Should().Be("items");
        thrown.Which.Message.Should().Contain(path);

        await FluentActions.Awaiting(async () => await store.PutAsync("items", "b", StoreFactory.Utf8("new"), cancellationToken: Token)).Should().ThrowAsync<StoreCorruptedException>();
        await FluentActions.Awaiting(async () => await store.DeleteAsync("items", "b", cancellationToken: Token)).Should().ThrowAsync<StoreCorruptedException>();
        await FluentActions.Awaiting(async () => await store.CommitAsync(new WriteBatch().Put("items", "a", StoreFactory.Utf8("x")).Delete("items", "b"), Token)).Should().ThrowAsync<StoreCorruptedException>();
        (await File.ReadAllTextAsync(path, Token)).Should().Be(content, "a corrupted file is never overwritten");
        (await store.GetAsync("items", "a", Token))!.Version.Should().Be(1, "a batch that meets a corrupted file writes nothing");

        await FluentActions.Awaiting(async () => await ScanAsync(store, null)).Should().ThrowAsync<StoreCorruptedException>();
        var reported = new List<StoreCorruptedException>();
        (await ScanAsync(store, reported.Add)).Should().Equal(["a", "c"]);
        reported.Should().ContainSingle().Which.Path.Should().Be(path);
        (await store.GetAsync("items", "c", Token)).Should().NotBeNull("one bad file never makes its neighbours unreadable");
        (await store.PutAsync("items", "d", StoreFactory.Utf8("4"), cancellationToken: Token)).Should().Be(1);
    }

    [Theory]
    [InlineData(FileLayout.FilePerCollection, "items.json")]
    [InlineData(FileLayout.SingleFile, "store.json")]
    public async Task CollectionFile_Corrupted_IsOneReportedUnitAndNeverOverwritten(FileLayout layout, string fileName)
    {
        await using var store = StoreFactory.Open(_root.Path, layout, _time);
        await store.PutAsync("items", "a", StoreFactory.Utf8("1"), cancellationToken: Token);
        var path = _root.Combine(fileName);
        var content = (await File.ReadAllTextAsync(path, Token))[..20];
        await File.WriteAllTextAsync(path, content, Token);

        var thrown = await FluentActions.Awaiting(async () => await store.GetAsync("items", "a", Token)).Should().ThrowAsync<StoreCorruptedException>();
        thrown.Which.Path.Should().Be(path);
        thrown.Which.Message.Should().Contain(path);
        await FluentActions.Awaiting(async () => await store.PutAsync("items", "b", StoreFactory.Utf8("2"), cancellationToken: Token)).Should().ThrowAsync<StoreCorruptedException>();
        await FluentActions.Awaiting(async () => await store.CountAsync("items", Token)).Should().ThrowAsync<StoreCorruptedException>();
        (await File.ReadAllTextAsync(path, Token)).Should().Be(content);

        var reported = new List<StoreCorruptedException>();
        (await ScanAsync(store, reported.Add)).Should().BeEmpty();
        reported.Should().ContainSingle().Which.Path.Should().Be(path);
        (await store.PurgeExpiredAsync(Token)).Should().Be(0);
        (await File.ReadAllTextAsync(path, Token)).Should().Be(content, "a purge leaves files it cannot read alone");
    }

    [Fact]
    public async Task FilePerCollection_CorruptedCollection_LeavesOtherCollectionsWritable()
    {
        await using var store = StoreFactory.Open(_root.Path, FileLayout.FilePerCollection, _time);
        await store.PutAsync("items", "a", StoreFactory.Utf8("1"), cancellationToken: Token);
        await File.WriteAllTextAsync(_root.Combine("items.json"), "[]", Token);

        (await store.PutAsync("others", "a", StoreFactory.Utf8("1"), cancellationToken: Token)).Should().Be(1);
        (await store.GetAsync("others", "a", Token)).Should().NotBeNull();
    }

    [Fact]
    public async Task SingleFile_DuplicateKeys_AreCorruption()
    {
        const string record = "{\"version\":1,\"createdAt\":\"2026-01-01T00:00:00Z\",\"updatedAt\":\"2026-01-01T00:00:00Z\",\"data\":1}";
        await File.WriteAllTextAsync(_root.Combine("store.json"), $"{{\"items\":{{\"a\":{record},\"a\":{record}}}}}", Token);
        await using var store = StoreFactory.Open(_root.Path, FileLayout.SingleFile, _time);

        var thrown = await FluentActions.Awaiting(async () => await store.GetAsync("items", "a", Token)).Should().ThrowAsync<StoreCorruptedException>();
        thrown.Which.Message.Should().Contain("more than once");
    }

    private static async Task<List<string>> ScanAsync(IStore store, Action<StoreCorruptedException>? onCorrupted)
    {
        var keys = new List<string>();
        await foreach (var entry in store.ScanAsync("items", new ScanOptions { OnCorruptedEntry = onCorrupted }, Token))
        {
            keys.Add(entry.Key);
        }

        return keys;
    }
}
