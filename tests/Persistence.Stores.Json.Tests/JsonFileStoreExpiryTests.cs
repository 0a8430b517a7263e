using FluentAssertions;
using Microsoft.Extensions.Time.Testing;
using Persistence.FileStorage;

namespace Persistence.Stores.Json.Tests;

/// <summary>Expired records are invisible at once; their storage is reclaimed by purges and later writes.</summary>
public sealed class JsonFileStoreExpiryTests : IDisposable
{
    private readonly TempDirectory _root = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public void Dispose() => _root.Dispose();

    [Theory]
    [InlineData(FileLayout.FilePerRecord)]
    [InlineData(FileLayout.FilePerCollection)]
    [InlineData(FileLayout.SingleFile)]
    public async Task PurgeExpiredAsync_ExpiredRecords_RemovesOnlyThemAndCountsThem(FileLayout layout)
    {
        await using var store = StoreFactory.Open(_root.Path, layout, _time);
        await store.PutAsync("items", "short", StoreFactory.Utf8("1"), new PutOptions { TimeToLive = TimeSpan.FromMinutes(1) }, Token);
        await store.PutAsync("items", "long", StoreFactory.Utf8("2"), new PutOptions { TimeToLive = TimeSpan.FromHours(1) }, Token);
        await store.PutAsync("items", "forever", StoreFactory.Utf8("3"), cancellationToken: Token);
        await store.PutAsync("gone", "only", StoreFactory.Utf8("4"), new PutOptions { TimeToLive = TimeSpan.FromMinutes(1) }, Token);
        var before = AllFileText();

        _time.Advance(TimeSpan.FromMinutes(2));

        AllFileText().Should().Be(before, "expiry alone writes nothing");
        (await store.PurgeExpiredAsync(Token)).Should().Be(2);
        (await store.PurgeExpiredAsync(Token)).Should().Be(0);
        var after = AllFileText();
        after.Should().NotContain("\"key\": \"short\"").And.NotContain("\"short\"").And.NotContain("\"only\"");
        after.Should().Contain("long").And.Contain("forever");
        (await store.GetAsync("items", "long", Token)).Should().NotBeNull();
        (await store.CountAsync("items", Token)).Should().Be(2);
        if (layout == FileLayout.FilePerRecord)
        {
            Directory.Exists(_root.Combine("gone")).Should().BeFalse("an emptied collection directory is removed");
        }
        else
        {
            File.Exists(_root.Combine("gone.json")).Should().BeFalse();
        }
    }

    [Theory]
    [InlineData(FileLayout.FilePerCollection)]
    [InlineData(FileLayout.SingleFile)]
    public async Task PutAsync_CollectionFileRewritten_DropsExpiredRecords(FileLayout layout)
    {
        await using var store = StoreFactory.Open(_root.Path, layout, _time);
        await store.PutAsync("items", "short", StoreFactory.Utf8("\"short-lived\""), new PutOptions { TimeToLive = TimeSpan.FromMinutes(1) }, Token);
        AllFileText().Should().Contain("short-lived");
        _time.Advance(TimeSpan.FromMinutes(1));

        await store.PutAsync("items", "other", StoreFactory.Utf8("1"), cancellationToken: Token);

        AllFileText().Should().NotContain("short-lived");
    }

    [Fact]
    public async Task PutAsync_OverExpiredRecordFile_RestartsAtVersionOneWithNewCreatedAt()
    {
        await using var store = StoreFactory.Open(_root.Path, FileLayout.FilePerRecord, _time);
        await store.PutAsync("items", "k", StoreFactory.Utf8("1"), new PutOptions { TimeToLive = TimeSpan.FromMinutes(1) }, Token);
        await store.PutAsync("items", "k", StoreFactory.Utf8("2"), new PutOptions { TimeToLive = TimeSpan.FromMinutes(1) }, Token);
        _time.Advance(TimeSpan.FromMinutes(5));

        (await store.PutAsync("items", "k", StoreFactory.Utf8("3"), new PutOptions { ExpectedVersion = 0 }, Token)).Should().Be(1);

        var entry = await store.GetAsync("items", "k", Token);
        entry!.CreatedAt.Should().Be(_time.GetUtcNow());
        entry.ExpiresAt.Should().BeNull();
    }

    [Fact]
    public async Task DeleteAsync_ExpiredRecord_ReturnsFalseAndReclaimsTheFile()
    {
        await using var store = StoreFactory.Open(_root.Path, FileLayout.FilePerRecord, _time);
        await store.PutAsync("items", "k", StoreFactory.Utf8("1"), new PutOptions { TimeToLive = TimeSpan.FromMinutes(1) }, Token);
        _time.Advance(TimeSpan.FromMinutes(1));

        (await store.DeleteAsync("items", "k", cancellationToken: Token)).Should().BeFalse();

        File.Exists(_root.Combine("items", "k.json")).Should().BeFalse();
    }

    private string AllFileText()
        => string.Join("\n", Directory.EnumerateFiles(_root.Path, "*.json", SearchOption.AllDirectories).Order(StringComparer.Ordinal).Select(File.ReadAllText));
}
