using System.Text;
using FluentAssertions;
using Persistence.Core.Tests;
using static Persistence.Backup.Tests.BackupFixture;

namespace Persistence.Backup.Tests;

/// <summary>Incremental archives list the keys the source held (format version 5), so a restored chain carries deletions.</summary>
public sealed class IncrementalDeletionTests : IDisposable
{
    private readonly StoreKinds _kinds = new();

    public void Dispose() => _kinds.Dispose();

    [Theory]
    [InlineData(StoreKinds.Memory)]
    [InlineData(StoreKinds.JsonFiles)]
    [InlineData(StoreKinds.Sqlite)]
    public async Task FullThenTwoIncrementals_RestoreToTheSameStateAsOneFullBackup(string targetKind)
    {
        var time = NewTime();
        await using var source = new InMemoryStore("source", timeProvider: time);
        foreach (var key in new[] { "a", "b", "c", "d", "e" })
        {
            await source.PutAsync("orders", key, new { Key = key, Total = 1 }, cancellationToken: Token);
        }

        await source.PutAsync("scratch", "x", new { Note = "gone later" }, cancellationToken: Token);
        await source.PutAsync("people", "p-1", new { Name = "Ada" }, cancellationToken: Token);
        await source.PutAsync("people", "p-2", new { Name = "Grace" }, cancellationToken: Token);
        time.Advance(TimeSpan.FromMinutes(1));
        var (full, fullManifest) = await BackupAsync(source, time, null);

        // Between the full archive and the first incremental: an update, deletes, a new key, a whole collection emptied.
        time.Advance(TimeSpan.FromMinutes(1));
        await source.PutAsync("orders", "b", new { Key = "b", Total = 2 }, cancellationToken: Token);
        await source.DeleteAsync("orders", "c", cancellationToken: Token);
        await source.PutAsync("orders", "f", new { Key = "f", Total = 1 }, cancellationToken: Token);
        await source.DeleteAsync("scratch", "x", cancellationToken: Token);
        time.Advance(TimeSpan.FromMinutes(1));
        var (first, firstManifest) = await BackupAsync(source, time, fullManifest.CreatedAt);

        // Between the two incrementals: a key deleted then written again, more deletes and updates, a new collection.
        time.Advance(TimeSpan.FromMinutes(1));
        await source.DeleteAsync("orders", "a", cancellationToken: Token);
        await source.PutAsync("orders", "c", new { Key = "c", Total = 3 }, cancellationToken: Token);
        await source.PutAsync("orders", "f", new { Key = "f", Total = 4 }, cancellationToken: Token);
        await source.DeleteAsync("orders", "e", cancellationToken: Token);
        await source.DeleteAsync("people", "p-1", cancellationToken: Token);
        await source.PutAsync("audit", "1", new { What = "new" }, cancellationToken: Token);
        time.Advance(TimeSpan.FromMinutes(1));
        var (second, secondManifest) = await BackupAsync(source, time, firstManifest.CreatedAt);

        await using var chained = _kinds.Create(targetKind, time);
        var restore = new RestoreOptions { Mode = ImportMode.Overwrite, BatchSize = 2, TimeProvider = time };
        await StoreBackup.RestoreAsync(new MemoryStream(full), chained, restore, null, Token);
        var afterFirst = await StoreBackup.RestoreAsync(new MemoryStream(first), chained, restore, null, Token);
        var afterSecond = await StoreBackup.RestoreAsync(new MemoryStream(second), chained, restore, null, Token);

        await using var direct = _kinds.Create(targetKind, time);
        var (whole, _) = await BackupAsync(source, time, null);
        await StoreBackup.RestoreAsync(new MemoryStream(whole), direct, restore, null, Token);

        (await DumpAsync(chained)).Should().Equal(await DumpAsync(direct));
        (await DumpAsync(chained)).Should().Equal(await DumpAsync(source));
        afterFirst.RecordsDeleted.Should().Be(2, "'orders/c' and 'scratch/x' were deleted");
        afterSecond.RecordsDeleted.Should().Be(3, "'orders/a', 'orders/e' and 'people/p-1' were deleted");
        fullManifest.FormatVersion.Should().Be(3, "a full archive keeps the lowest version that holds it");
        fullManifest.CarriesDeletions.Should().BeFalse();
        firstManifest.FormatVersion.Should().Be(5);
        firstManifest.CarriesDeletions.Should().BeTrue();
        firstManifest.TotalEntries.Should().Be(2, "only the changed records are archived: 'orders/b' and 'orders/f'");
        secondManifest.Collections.Select(c => c.Name).Should().Equal("audit", "orders", "people");
    }

    [Fact]
    public async Task IncrementalArchive_ListsEveryKeyOfEachPage_InItsOwnRecords()
    {
        var time = NewTime();
        await using var source = new InMemoryStore("source", timeProvider: time);
        foreach (var key in new[] { "a", "b", "c" })
        {
            await source.PutAsync("orders", key, new { Key = key }, cancellationToken: Token);
        }

        time.Advance(TimeSpan.FromMinutes(1));
        var since = time.GetUtcNow();
        await source.PutAsync("orders", "b", new { Key = "b", Changed = true }, cancellationToken: Token);

        var (archive, manifest) = await BackupAsync(source, time, since, BackupCompression.None);
        var body = PlainBody(archive);

        body.Should().Contain("""{"type":"keys","keys":["a","b"]}""").And.Contain("""{"type":"keys","keys":["c"]}""");
        body.Split('\n').Count(l => l.Contains("\"type\":\"entry\"", StringComparison.Ordinal)).Should().Be(1);
        body.Should().Contain("\"liveKeys\":true,\"allCollections\":true");
        manifest.Collections.Single().Entries.Should().Be(1, "keys records are not entries");
        (await StoreBackup.VerifyAsync(new MemoryStream(archive), null, Token)).CarriesDeletions.Should().BeTrue();
    }

    [Fact]
    public async Task TamperedKeysRecord_FailsVerification()
    {
        var time = NewTime();
        await using var source = new InMemoryStore("source", timeProvider: time);
        await source.PutAsync("orders", "keep", new { Key = 1 }, cancellationToken: Token);
        var (archive, _) = await BackupAsync(source, time, time.GetUtcNow(), BackupCompression.None);
        var text = Encoding.Latin1.GetString(archive);
        text.Should().Contain("\"keys\":[\"keep\"]");

        var forged = Encoding.Latin1.GetBytes(text.Replace("\"keys\":[\"keep\"]", "\"keys\":[\"kept\"]", StringComparison.Ordinal));
        var verify = async () => await StoreBackup.VerifyAsync(new MemoryStream(forged), null, Token);

        (await verify.Should().ThrowAsync<BackupArchiveException>()).Which.Error.Should().Be(BackupArchiveError.Corrupted);
    }

    [Theory]
    [InlineData(ImportMode.PreserveExisting)]
    [InlineData(ImportMode.FailOnConflict)]
    public async Task OnlyAnOverwriteRestore_Deletes(ImportMode mode)
    {
        var time = NewTime();
        await using var source = new InMemoryStore("source", timeProvider: time);
        await source.PutAsync("orders", "a", new { Key = "a" }, cancellationToken: Token);
        var (archive, _) = await BackupAsync(source, time, time.GetUtcNow());
        await using var target = new InMemoryStore("target", timeProvider: time);
        await target.PutAsync("orders", "only-in-target", new { Key = 0 }, cancellationToken: Token);

        var result = await StoreBackup.RestoreAsync(new MemoryStream(archive), target, new RestoreOptions { Mode = mode, TimeProvider = time }, null, Token);

        result.RecordsDeleted.Should().Be(0);
        (await target.ExistsAsync("orders", "only-in-target", Token)).Should().BeTrue();
    }

    [Fact]
    public async Task SelectedCollections_DeleteOnlyInThem()
    {
        var time = NewTime();
        await using var source = new InMemoryStore("source", timeProvider: time);
        await source.PutAsync("orders", "a", new { Key = "a" }, cancellationToken: Token);
        await source.PutAsync("people", "p", new { Key = "p" }, cancellationToken: Token);
        var (archive, _) = await BackupAsync(source, time, time.GetUtcNow());
        await using var target = new InMemoryStore("target", timeProvider: time);
        await target.PutAsync("orders", "stale", new { Key = 0 }, cancellationToken: Token);
        await target.PutAsync("people", "stale", new { Key = 0 }, cancellationToken: Token);
        await target.PutAsync("other", "stale", new { Key = 0 }, cancellationToken: Token);

        var result = await StoreBackup.RestoreAsync(new MemoryStream(archive), target, new RestoreOptions { Mode = ImportMode.Overwrite, Collections = ["orders"], TimeProvider = time }, null, Token);

        result.RecordsDeleted.Should().Be(1);
        (await target.ExistsAsync("orders", "stale", Token)).Should().BeFalse();
        (await target.ExistsAsync("people", "stale", Token)).Should().BeTrue();
        (await target.ExistsAsync("other", "stale", Token)).Should().BeTrue();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task DryRunOfAnIncremental_CountsTheDeletionsTheRestoreMakes_AndWritesNothing(bool forwardOnly)
    {
        var time = NewTime();
        await using var source = new InMemoryStore("source", timeProvider: time);
        foreach (var key in new[] { "a", "b", "c", "d", "e" })
        {
            await source.PutAsync("orders", key, new { Key = key, Total = 1 }, cancellationToken: Token);
        }

        await source.PutAsync("scratch", "x", new { Note = "gone later" }, cancellationToken: Token);
        time.Advance(TimeSpan.FromMinutes(1));
        var (full, fullManifest) = await BackupAsync(source, time, null);
        await using var target = new InMemoryStore("target", timeProvider: time);
        var overwrite = new RestoreOptions { Mode = ImportMode.Overwrite, BatchSize = 2, TimeProvider = time };
        await StoreBackup.RestoreAsync(new MemoryStream(full), target, overwrite, null, Token);

        time.Advance(TimeSpan.FromMinutes(1));
        await source.PutAsync("orders", "b", new { Key = "b", Total = 2 }, cancellationToken: Token);
        await source.DeleteAsync("orders", "a", cancellationToken: Token);
        await source.DeleteAsync("orders", "e", cancellationToken: Token);
        await source.PutAsync("orders", "f", new { Key = "f", Total = 1 }, cancellationToken: Token);
        await source.DeleteAsync("scratch", "x", cancellationToken: Token);
        time.Advance(TimeSpan.FromMinutes(1));
        var (incremental, _) = await BackupAsync(source, time, fullManifest.CreatedAt);
        Stream Open() => forwardOnly ? new ForwardOnlyStream(new MemoryStream(incremental)) : new MemoryStream(incremental);
        var before = await DumpAsync(target);

        var dryRun = await StoreBackup.RestoreAsync(Open(), target, overwrite with { DryRun = true }, null, Token);
        var preserveDryRun = await StoreBackup.RestoreAsync(Open(), target, overwrite with { DryRun = true, Mode = ImportMode.PreserveExisting }, null, Token);

        (await DumpAsync(target)).Should().Equal(before, "a dry run writes nothing");
        var restored = await StoreBackup.RestoreAsync(Open(), target, overwrite, null, Token);
        dryRun.Plan.Should().Be(new RestorePlan(1, 1, 0) { Deletes = 3 }, "'orders/a', 'orders/e' and 'scratch/x' were deleted; 'f' is new, 'b' changed");
        dryRun.RecordsDeleted.Should().Be(0);
        restored.RecordsDeleted.Should().Be(dryRun.Plan!.Deletes);
        preserveDryRun.Plan!.Deletes.Should().Be(0, "only an overwrite deletes");
        (await DumpAsync(target)).Should().Equal(await DumpAsync(source));
    }

    private static async Task<(byte[] Archive, BackupManifest Manifest)> BackupAsync(IStore store, Microsoft.Extensions.Time.Testing.FakeTimeProvider time, DateTimeOffset? since, BackupCompression compression = BackupCompression.Gzip)
    {
        using var stream = new MemoryStream();
        var manifest = await store.BackupAsync(stream, Options(time, compression) with { ModifiedSince = since, PageSize = 2 }, null, Token);
        return (stream.ToArray(), manifest);
    }

    private static async Task<List<string>> DumpAsync(IStore store)
    {
        var lines = new List<string>();
        await foreach (var collection in store.ListCollectionsAsync(Token))
        {
            await foreach (var entry in store.ScanAsync(collection, null, Token))
            {
                lines.Add($"{collection}/{entry.Key} v{entry.Version} {entry.CreatedAt:O} {entry.UpdatedAt:O} {entry.ExpiresAt:O} {store.Serializer.ToJson(entry.Payload).GetRawText()}");
            }
        }

        return lines;
    }
}
