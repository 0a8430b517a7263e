using System.Diagnostics;
using FluentAssertions;
using Microsoft.Extensions.Time.Testing;
using Persistence.FileStorage;
using Persistence.Stores.Json;

namespace Persistence.FileStorage.Tests;

/// <summary>
/// The stamp that lets a file store trust its cached copy of a collection file sees every edit that keeps the file's length
/// and last-write time, and is only trusted once no edit can hide in the file system's coarse clock.
/// </summary>
public sealed class FileStampTests : IDisposable
{
    private static readonly DateTimeOffset ChangedAt = new(2026, 5, 6, 7, 8, 9, TimeSpan.Zero);
    private readonly TempDirectory _root = new();

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public static TheoryData<FileLayout, ExternalEditKind> Cases => FileStoreExternalEditTests.Cases;

    public void Dispose() => _root.Dispose();

    [Theory]
    [InlineData(ExternalEditKind.Rewrite)]
    [InlineData(ExternalEditKind.OverwriteInPlace)]
    [InlineData(ExternalEditKind.ReplaceByRename)]
    public void Of_EditKeepingLengthAndLastWriteTime_ChangesTheStamp(ExternalEditKind kind)
    {
        var path = _root.Combine("items.json");
        File.WriteAllText(path, "{\"k\":\"value-one\"}");
        ExternalFileEdit.PinLastWriteTime(path);
        var before = FileStamp.Of(path);
        before.HasChangeTime.Should().Be(OperatingSystem.IsLinux(), "change times and inodes are read with statx on Linux");
        if (!before.HasChangeTime)
        {
            before.IsSettledAt(DateTimeOffset.MaxValue).Should().BeFalse("elsewhere no stamp vouches for a file: its content is compared");
            return;
        }

        WaitForNextChangeTime(before);

        ExternalFileEdit.Apply(kind, path, "value-one", "value-two");
        var after = FileStamp.Of(path);

        after.Length.Should().Be(before.Length);
        after.LastWriteTime.Should().Be(before.LastWriteTime, "the edit put the last-write time back to the nanosecond");
        after.Should().NotBe(before);
        if (kind == ExternalEditKind.ReplaceByRename)
        {
            after.Inode.Should().NotBe(before.Inode, "a file renamed into place is another inode");
        }
        else
        {
            after.Inode.Should().Be(before.Inode);
            after.ChangeTime.Should().BeGreaterThan(before.ChangeTime, "no user can set the change time back");
        }
    }

    [Fact]
    public void Of_MissingFileOrDirectory_DoesNotExist()
    {
        FileStamp.Of(_root.Combine("missing.json")).Exists.Should().BeFalse();
        FileStamp.Of(_root.Combine("missing", "items.json")).Exists.Should().BeFalse();
    }

    [Fact]
    public void IsSettledAt_WithinTheSettleTimeOfTheChange_IsFalseThenTrue()
    {
        var changedAt = (ChangedAt - DateTimeOffset.UnixEpoch).Ticks * 100;
        var stamp = new FileStamp(true, 10, changedAt, changedAt, 1, 2, HasChangeTime: true);

        stamp.IsSettledAt(ChangedAt).Should().BeFalse();
        stamp.IsSettledAt(ChangedAt + FileStamp.SettleTime - TimeSpan.FromTicks(1)).Should().BeFalse();
        stamp.IsSettledAt(ChangedAt - TimeSpan.FromHours(1)).Should().BeFalse("a change time ahead of the clock proves nothing");
        stamp.IsSettledAt(ChangedAt + FileStamp.SettleTime).Should().BeTrue();
        (stamp with { HasChangeTime = false }).IsSettledAt(ChangedAt + TimeSpan.FromDays(1)).Should().BeFalse("without a change time only the content can prove a file unchanged");
        default(FileStamp).IsSettledAt(ChangedAt).Should().BeTrue("a missing file has no content to vouch for");
    }

    // The file-system clock is a minute ahead, so every stamp is settled when read and the store trusts it: only the stamp
    // (inode, change time) can reveal the edit, not the comparison of bytes done while a stamp is fresh. (Where stamps have
    // no change time, the bytes are compared on every read and the edit is seen that way.)
    [Theory]
    [MemberData(nameof(Cases))]
    public async Task GetAndPut_SettledStampAndEditKeepingLengthAndLastWriteTime_SeeTheEdit(FileLayout layout, ExternalEditKind kind)
    {
        var fileClock = new FakeTimeProvider(TimeProvider.System.GetUtcNow().AddMinutes(1));
        await using var store = new JsonFileStore(new JsonFileStoreOptions { RootPath = _root.Path, Layout = layout }, "test", new FakeTimeProvider(ChangedAt))
        {
            FileSystemClock = fileClock,
        };
        await store.PutAsync("items", "k", "value-one", cancellationToken: Token);
        var path = _root.Combine(layout == FileLayout.SingleFile ? "store.json" : "items.json");
        ExternalFileEdit.PinLastWriteTime(path);
        (await store.GetAsync<string>("items", "k", Token)).Should().Be("value-one");
        (await store.GetAsync<string>("items", "k", Token)).Should().Be("value-one");
        WaitForNextChangeTime(FileStamp.Of(path));

        ExternalFileEdit.Apply(kind, path, "value-one", "value-two");

        (await store.GetAsync<string>("items", "k", Token)).Should().Be("value-two");
        await store.PutAsync("items", "other", "x", cancellationToken: Token);
        (await File.ReadAllTextAsync(path, Token)).Should().Contain("value-two").And.NotContain("value-one");
    }

    // Kernels before 6.13 stamp change times from a clock that ticks every few milliseconds: an edit in the same tick keeps
    // the change time (that is what the settle time covers). Touching another file until its change time moves past the
    // stamp's makes the edit land in a later tick, without a sleep (and gives up after a second, when the edit may be missed).
    private void WaitForNextChangeTime(FileStamp stamp)
    {
        if (!stamp.HasChangeTime)
        {
            return;
        }

        var probe = _root.Combine("clock-probe");
        File.WriteAllText(probe, string.Empty);
        var waited = Stopwatch.StartNew();
        while (FileStamp.Of(probe).ChangeTime <= stamp.ChangeTime && waited.Elapsed < TimeSpan.FromSeconds(1))
        {
            File.SetLastWriteTimeUtc(probe, ChangedAt.UtcDateTime);
        }
    }
}
