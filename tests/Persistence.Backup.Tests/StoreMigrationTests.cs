using System.Text;
using FluentAssertions;
using Persistence.Backup;
using Persistence.Testing;
using static Persistence.Backup.Tests.BackupFixture;

namespace Persistence.Backup.Tests;

public sealed class StoreMigrationTests
{
    // 100,000 by default, as the issue asks; PERSISTENCE_MIGRATION_ENTRIES changes it.
    private static readonly int LargeCount = int.TryParse(Environment.GetEnvironmentVariable("PERSISTENCE_MIGRATION_ENTRIES"), out var n) && n > 0 ? n : 100_000;
    private static readonly string[] ThreeCollections = ["alpha", "beta", "gamma"];

    [Fact]
    public async Task MigrateAsync_LargeStoreAcrossThreeCollections_CopiesTranscodesAndVerifies()
    {
        var time = NewTime();
        await using var source = await LargeSourceAsync(time);
        await using var target = new InMemoryStore("target", EnvelopeSerializer.Instance, time);
        var reports = new List<MigrationProgress>();

        var report = await source.MigrateAsync(target, new MigrationOptions { BatchSize = 2000, TimeProvider = time }, new SyncProgress<MigrationProgress>(reports.Add), Token);

        report.Success.Should().BeTrue(string.Join("; ", report.Errors));
        report.Verified.Should().BeTrue();
        report.Transcoded.Should().BeTrue();
        report.EntriesCopied.Should().Be(LargeCount);
        report.EntriesSkipped.Should().Be(0);
        report.Collections.Select(c => c.Name).Should().Equal(ThreeCollections);
        report.Collections.Sum(c => c.SourceCount).Should().Be(LargeCount);
        report.Collections.Should().OnlyContain(c => c.Verified && c.TargetCount == c.SourceCount && c.SourceSha256 == c.TargetSha256);
        foreach (var collection in ThreeCollections)
        {
            (await target.CountAsync(collection, Token)).Should().Be(await source.CountAsync(collection, Token));
        }

        var sample = await target.GetAsync("beta", Key(4), Token);
        Encoding.UTF8.GetString(sample!.Payload.Span).Should().StartWith("ENVELOPE:");
        BackupTestData.Row(sample, target.Serializer).Should().Be(BackupTestData.Row((await source.GetAsync("beta", Key(4), Token))!, source.Serializer));
        reports.Select(r => r.Phase).Distinct().Should().Equal(MigrationPhase.CheckingConflicts, MigrationPhase.Copying, MigrationPhase.Verifying);
    }

    [Fact]
    public async Task MigrateAsync_CancelledHalfWayThenResumedWithPreserveExisting_EndsComplete()
    {
        var time = NewTime();
        await using var source = await LargeSourceAsync(time);
        await using var target = new InMemoryStore("target", EnvelopeSerializer.Instance, time);
        const int batch = 1000;
        using var cts = new CancellationTokenSource();
        long copiedBeforeCancel = 0;
        var progress = new SyncProgress<MigrationProgress>(p =>
        {
            if (p.Phase == MigrationPhase.Copying && p.EntriesCopied >= LargeCount / 2 && !cts.IsCancellationRequested)
            {
                copiedBeforeCancel = p.EntriesCopied;
                cts.Cancel();
            }
        });

        await FluentActions.Awaiting(() => source.MigrateAsync(target, new MigrationOptions { BatchSize = batch, Mode = ImportMode.Overwrite }, progress, cts.Token))
            .Should().ThrowAsync<OperationCanceledException>();

        var written = ThreeCollections.Sum(c => target.CountAsync(c, Token).AsTask().Result);
        written.Should().Be(copiedBeforeCancel, "the batch after the cancellation is not written at all");
        written.Should().BeGreaterThan(0).And.BeLessThan(LargeCount);

        var resumed = await source.MigrateAsync(target, new MigrationOptions { BatchSize = batch, Mode = ImportMode.PreserveExisting }, null, Token);

        resumed.Success.Should().BeTrue(string.Join("; ", resumed.Errors));
        resumed.Verified.Should().BeTrue();
        resumed.EntriesSkipped.Should().Be(written);
        resumed.EntriesCopied.Should().Be(LargeCount - written);
        ThreeCollections.Sum(c => target.CountAsync(c, Token).AsTask().Result).Should().Be(LargeCount);
    }

    [Fact]
    public async Task MigrateAsync_FailOnConflict_ThrowsBeforeWritingAnything()
    {
        var time = NewTime();
        await using var source = await SeededAsync(time);
        await using var target = new InMemoryStore("target", timeProvider: time);
        await BackupTestData.PutJsonAsync(target, "users", "z", "{\"mine\":true}", null, Token);
        var before = await BackupTestData.SnapshotAsync(target, Token);

        var error = await FluentActions.Awaiting(() => source.MigrateAsync(target, new MigrationOptions { BatchSize = 3 }, null, Token)).Should().ThrowAsync<ConcurrencyConflictException>();

        error.Which.Message.Should().Contain("'users/z'").And.Contain("nothing was written");
        (await BackupTestData.SnapshotAsync(target, Token)).Should().Equal(before);
    }

    [Fact]
    public async Task MigrateAsync_TargetRecordsThatDiffer_FailVerification()
    {
        var time = NewTime();
        await using var source = await SeededAsync(time);
        await using var target = new InMemoryStore("target", timeProvider: time);
        await BackupTestData.PutJsonAsync(target, "users", "z", "{\"mine\":true}", null, Token);
        await BackupTestData.PutJsonAsync(target, "orders", "only-in-target", "{}", null, Token);

        var report = await source.MigrateAsync(target, new MigrationOptions { Mode = ImportMode.PreserveExisting }, null, Token);

        report.Success.Should().BeFalse();
        report.Verified.Should().BeFalse();
        report.EntriesSkipped.Should().Be(1);
        report.Collections.Single(c => c.Name == "config.v2").Verified.Should().BeTrue();
        report.Collections.Single(c => c.Name == "users").Verified.Should().BeFalse();
        report.Errors.Should().HaveCount(2)
            .And.Contain(e => e.Contains("'users'", StringComparison.Ordinal) && e.Contains("checksums differ", StringComparison.Ordinal))
            .And.Contain(e => e.Contains("'orders'", StringComparison.Ordinal) && e.Contains("records in the source but", StringComparison.Ordinal));
    }

    [Fact]
    public async Task MigrateAsync_SelectedCollectionsWithoutVerification_CopiesOnlyThose()
    {
        var time = NewTime();
        await using var source = await SeededAsync(time);
        await using var target = new InMemoryStore("target", timeProvider: time);

        var report = await source.MigrateAsync(target, new MigrationOptions { Collections = ["orders"], Verify = false }, null, Token);

        report.Verified.Should().BeNull();
        report.Transcoded.Should().BeFalse();
        report.Collections.Should().ContainSingle().Which.Should().Match<CollectionMigrationReport>(c => c.Name == "orders" && c.TargetSha256 == null && c.SourceCount == c.Copied);
        (await BackupTestData.SnapshotAsync(target, Token)).Should().Equal((await BackupTestData.SnapshotAsync(source, Token)).Where(r => r.StartsWith("orders |", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task MigrateAsync_TargetBackup_ArchivesTheTargetBeforeWriting()
    {
        var time = NewTime();
        await using var source = await SeededAsync(time);
        await using var target = new InMemoryStore("target", timeProvider: time);
        await BackupTestData.PutJsonAsync(target, "users", "z", "{\"before\":true}", null, Token);
        await BackupTestData.PutJsonAsync(target, "elsewhere", "k", "{\"before\":true}", null, Token);
        var before = await BackupTestData.SnapshotAsync(target, Token);
        using var backup = new MemoryStream();

        var report = await source.MigrateAsync(target, new MigrationOptions { Mode = ImportMode.Overwrite, TargetBackup = backup, TargetBackupOptions = new BackupOptions { Encryption = RawKey, Collections = ["users"] } }, null, Token);

        report.TargetBackup.Should().NotBeNull();
        report.TargetBackup!.StoreName.Should().Be("target");
        report.TargetBackup.TotalEntries.Should().Be(2, "the whole target is backed up whatever Collections says");
        backup.Position = 0;
        await using var restored = new InMemoryStore("restored", timeProvider: time);
        await StoreBackup.RestoreAsync(backup, restored, new RestoreOptions { Decryption = RawKey }, null, Token);
        (await BackupTestData.SnapshotAsync(restored, Token)).Should().Equal(before);
    }

    [Fact]
    public async Task MigrateAsync_ZstdEncryptedTargetBackup_Restores()
    {
        var time = NewTime();
        await using var source = await SeededAsync(time);
        await using var target = new InMemoryStore("target", timeProvider: time);
        await BackupTestData.PutJsonAsync(target, "users", "z", "{\"before\":true}", null, Token);
        var before = await BackupTestData.SnapshotAsync(target, Token);
        using var backup = new MemoryStream();

        var report = await source.MigrateAsync(target, new MigrationOptions { Mode = ImportMode.Overwrite, TargetBackup = backup, TargetBackupOptions = new BackupOptions { Compression = BackupCompression.Zstd, Encryption = RawKey } }, null, Token);

        report.Success.Should().BeTrue();
        report.TargetBackup!.Compression.Should().Be(BackupCompression.Zstd);
        report.TargetBackup.FormatVersion.Should().Be(4);
        backup.Position = 0;
        await using var restored = new InMemoryStore("restored", timeProvider: time);
        await StoreBackup.RestoreAsync(backup, restored, new RestoreOptions { Decryption = RawKey }, null, Token);
        (await BackupTestData.SnapshotAsync(restored, Token)).Should().Equal(before);
    }

    [Fact]
    public async Task MigrateAsync_InvalidArguments_ThrowClearly()
    {
        await using var store = new InMemoryStore();
        await using var other = new InMemoryStore();

        await FluentActions.Awaiting(() => store.MigrateAsync(store, null, null, Token)).Should().ThrowAsync<ArgumentException>().WithParameterName("target");
        await FluentActions.Awaiting(() => store.MigrateAsync(other, new MigrationOptions { BatchSize = 0 }, null, Token)).Should().ThrowAsync<ArgumentOutOfRangeException>().WithParameterName("BatchSize");
        await FluentActions.Awaiting(() => store.MigrateAsync(other, new MigrationOptions { TargetBackupOptions = new BackupOptions() }, null, Token)).Should().ThrowAsync<ArgumentException>().WithParameterName("TargetBackupOptions");
        await FluentActions.Awaiting(() => store.MigrateAsync(other, new MigrationOptions { TargetBackup = new MemoryStream([], writable: false) }, null, Token)).Should().ThrowAsync<ArgumentException>().WithParameterName("TargetBackup");
        await FluentActions.Awaiting(() => store.MigrateAsync(other, new MigrationOptions { Collections = [""] }, null, Token)).Should().ThrowAsync<ArgumentException>().WithParameterName("Collections");
    }

    private static string Key(int i) => $"key-{i:D7}";

    private static async Task<InMemoryStore> LargeSourceAsync(Microsoft.Extensions.Time.Testing.FakeTimeProvider time)
    {
        var store = new InMemoryStore("source", timeProvider: time);
        var created = time.GetUtcNow();
        var batch = new List<StoreEntry>(10_000);
        for (var i = 0; i < LargeCount; i++)
        {
            var collection = ThreeCollections[i % 3];
            var payload = Encoding.UTF8.GetBytes($"{{\"id\":{i},\"name\":\"entry {i}\",\"tags\":[\"a\",\"b\"],\"score\":{i * 0.5}}}");
            batch.Add(new StoreEntry(collection, Key(i), payload, 1 + (i % 5), created.AddSeconds(-i), created.AddSeconds(i), i % 10 == 0 ? created.AddDays(365) : null));
            if (batch.Count == batch.Capacity)
            {
                await store.ImportAsync(batch, ImportMode.Overwrite, Token);
                batch.Clear();
            }
        }

        await store.ImportAsync(batch, ImportMode.Overwrite, Token);
        return store;
    }
}
