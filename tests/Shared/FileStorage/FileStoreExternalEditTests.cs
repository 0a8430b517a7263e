using FluentAssertions;
using Microsoft.Extensions.Time.Testing;
using Persistence.FileStorage;

namespace Persistence.Tests;

/// <summary>
/// A hand edit of a collection file (or the single file) that keeps the file's length and last-write time is seen by an
/// open store, and never reverted by its next write. Each file store's tests derive this with how to open the store and
/// how its files spell a record's version.
/// </summary>
public abstract class FileStoreExternalEditTests : IDisposable
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    private readonly TempDirectory _root = new();

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

    /// <summary>Gets the file name extension of the store's files (".json").</summary>
    protected abstract string Extension { get; }

    /// <summary>Gets how a file of the store spells version 1 of a record, and version 7 in the same number of bytes.</summary>
    protected abstract (string One, string Seven) VersionText { get; }

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public void Dispose()
    {
        _root.Dispose();
        GC.SuppressFinalize(this);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task GetAsync_EditKeepingLengthAndTime_ReturnsTheEdit(FileLayout layout, ExternalEditKind kind)
    {
        await using var store = Open(layout, _time);
        var path = await PutAndWarmAsync(store, layout);

        ExternalFileEdit.Apply(kind, path, "value-one", "value-two");

        (await store.GetAsync<string>("items", "k", Token)).Should().Be("value-two", "the open store must see the hand edit");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task PutAsync_OtherKeyAfterEditKeepingLengthAndTime_KeepsTheEdit(FileLayout layout, ExternalEditKind kind)
    {
        await using (var store = Open(layout, _time))
        {
            var path = await PutAndWarmAsync(store, layout);

            ExternalFileEdit.Apply(kind, path, "value-one", "value-two");
            await store.PutAsync("items", "other", "x", cancellationToken: Token);

            (await File.ReadAllTextAsync(path, Token)).Should().Contain("value-two").And.NotContain("value-one", "the write must not put the old value back");
        }

        await using var reopened = Open(layout, _time);
        (await reopened.GetAsync<string>("items", "k", Token)).Should().Be("value-two");
        (await reopened.GetAsync<string>("items", "other", Token)).Should().Be("x");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task PutAsync_SameKeyWithExpectedVersionAfterEditOfVersion_ThrowsConflict(FileLayout layout, ExternalEditKind kind)
    {
        await using var store = Open(layout, _time);
        var path = await PutAndWarmAsync(store, layout);

        // A person bumps the version by hand: a writer holding version 1 must now be refused.
        ExternalFileEdit.Apply(kind, path, VersionText.One, VersionText.Seven);

        var stale = async () => await store.PutAsync("items", "k", "value-new", new PutOptions { ExpectedVersion = 1 }, Token);
        (await stale.Should().ThrowAsync<ConcurrencyConflictException>()).Which.ActualVersion.Should().Be(7);
        (await store.GetAsync<string>("items", "k", Token)).Should().Be("value-one");
    }

    /// <summary>Gets the store's root directory.</summary>
    protected string RootPath => _root.Path;

    /// <summary>Opens the store on <see cref="RootPath"/> with the layout and clock.</summary>
    protected abstract IStore Open(FileLayout layout, TimeProvider time);

    // Writes k, gives the file a last-write time that an edit can restore exactly, and lets the store cache what it holds.
    [Theory]
    [MemberData(nameof(Cases))]
    public async Task WatchAsync_EditSeenByARead_IsReportedOnceAsAPut(FileLayout layout, ExternalEditKind kind)
    {
        await using var store = Open(layout, _time);
        await using var other = Open(layout, _time);
        var path = await PutAndWarmAsync(store, layout);
        (await other.GetAsync<string>("items", "k", Token)).Should().Be("value-one");
        var feed = store.GetChangeFeed()!;
        var before = await feed.GetPositionAsync(Token);

        ExternalFileEdit.Apply(kind, path, "value-one", "value-two");
        (await store.GetAsync<string>("items", "k", Token)).Should().Be("value-two");
        (await other.GetAsync<string>("items", "k", Token)).Should().Be("value-two");
        (await store.GetAsync<string>("items", "k", Token)).Should().Be("value-two");

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Token);
        timeout.CancelAfter(TimeSpan.FromSeconds(60));
        StoreChange? reported = null;
        await foreach (var change in feed.WatchAsync("items", before, timeout.Token))
        {
            reported = change;
            break;
        }

        reported.Should().Match<StoreChange>(c => c.Kind == StoreChangeKind.Put && c.Key == "k" && c.Version == 1);
        (await feed.GetPositionAsync(Token)).Should().Be(reported!.Position, "the edit is reported once, by the first store that sees it");
    }

    private async Task<string> PutAndWarmAsync(IStore store, FileLayout layout)
    {
        await store.PutAsync("items", "k", "value-one", cancellationToken: Token);
        var path = layout == FileLayout.SingleFile ? _root.Combine("store" + Extension) : _root.Combine("items" + Extension);
        ExternalFileEdit.PinLastWriteTime(path);
        (await store.GetAsync<string>("items", "k", Token)).Should().Be("value-one");
        (await store.GetAsync<string>("items", "k", Token)).Should().Be("value-one");
        return path;
    }
}
