using FluentAssertions;
using Microsoft.Extensions.Time.Testing;
using Persistence.FileStorage;

namespace Persistence.Stores.Yaml.Tests;

/// <summary>
/// A hand edit of a collection file (or the single file) that keeps the file's length and last-write time is seen by an
/// open store, and never reverted by its next write.
/// </summary>
public sealed class YamlFileStoreExternalEditTests : IDisposable
{
    private readonly TempDirectory _root = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public static TheoryData<FileLayout, ExternalEditKind> Cases
    {
        get
        {
            var cases = new TheoryData<FileLayout, ExternalEditKind>();
            foreach (var layout in new[] { FileLayout.FilePerCollection, FileLayout.SingleFile })
            {
                foreach (var kind in Enum.GetValues<ExternalEditKind>())
                {
                    cases.Add(layout, kind);
                }
            }

            return cases;
        }
    }

    public void Dispose() => _root.Dispose();

    private YamlFileStore Open(FileLayout layout)
        => new(new YamlFileStoreOptions { RootPath = _root.Path, Layout = layout }, "test", _time);

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task GetAsync_EditKeepingLengthAndTime_ReturnsTheEdit(FileLayout layout, ExternalEditKind kind)
    {
        await using var store = Open(layout);
        var path = await PutAndWarmAsync(store, layout);

        ExternalFileEdit.Apply(kind, path, "value-one", "value-two");

        (await store.GetAsync<string>("items", "k", Token)).Should().Be("value-two", "the open store must see the hand edit");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task PutAsync_OtherKeyAfterEditKeepingLengthAndTime_KeepsTheEdit(FileLayout layout, ExternalEditKind kind)
    {
        await using (var store = Open(layout))
        {
            var path = await PutAndWarmAsync(store, layout);

            ExternalFileEdit.Apply(kind, path, "value-one", "value-two");
            await store.PutAsync("items", "other", "x", cancellationToken: Token);

            (await File.ReadAllTextAsync(path, Token)).Should().Contain("value-two").And.NotContain("value-one", "the write must not put the old value back");
        }

        await using var reopened = Open(layout);
        (await reopened.GetAsync<string>("items", "k", Token)).Should().Be("value-two");
        (await reopened.GetAsync<string>("items", "other", Token)).Should().Be("x");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task PutAsync_SameKeyWithExpectedVersionAfterEditOfVersion_ThrowsConflict(FileLayout layout, ExternalEditKind kind)
    {
        await using var store = Open(layout);
        var path = await PutAndWarmAsync(store, layout);

        // A person bumps the version by hand: a writer holding version 1 must now be refused.
        ExternalFileEdit.Apply(kind, path, "version: 1", "version: 7");

        var stale = async () => await store.PutAsync("items", "k", "value-new", new PutOptions { ExpectedVersion = 1 }, Token);
        (await stale.Should().ThrowAsync<ConcurrencyConflictException>()).Which.ActualVersion.Should().Be(7);
        (await store.GetAsync<string>("items", "k", Token)).Should().Be("value-one");
    }

    // Writes k, gives the file a last-write time that an edit can restore exactly, and lets the store cache what it holds.
    private async Task<string> PutAndWarmAsync(YamlFileStore store, FileLayout layout)
    {
        await store.PutAsync("items", "k", "value-one", cancellationToken: Token);
        var path = layout == FileLayout.SingleFile ? _root.Combine("store.yaml") : _root.Combine("items.yaml");
        ExternalFileEdit.PinLastWriteTime(path);
        (await store.GetAsync<string>("items", "k", Token)).Should().Be("value-one");
        (await store.GetAsync<string>("items", "k", Token)).Should().Be("value-one");
        return path;
    }
}
