using System.Runtime.CompilerServices;
using FluentAssertions;
using Persistence.Backup;
using Persistence.Testing;
using static Persistence.Backup.Tests.BackupFixture;

namespace Persistence.Backup.Tests;

public sealed class StoreBackupTests
{
    public static TheoryData<BackupCompression, string> Combinations()
    {
        var data = new TheoryData<BackupCompression, string>();
        foreach (var compression in Enum.GetValues<BackupCompression>())
        {
            foreach (var encryption in new[] { "none", "key", "password" })
            {
                data.Add(compression, encryption);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Combinations))]
    public async Task BackupRestore_EveryCompressionAndEncryption_RestoresEveryRecord(BackupCompression compression, string encryption)
    {
        var time = NewTime();
        await using var source = await SeededAsync(time);
        var key = encryption switch { "key" => RawKey, "password" => Password, _ => null };
        var bytes = await ArchiveAsync(source, Options(time, compression, key, chunkSize: 1024));
        await using var target = new InMemoryStore("target", timeProvider: time);

        var result = await StoreBackup.RestoreAsync(new MemoryStream(bytes), target, new RestoreOptions { Decryption = key, TimeProvider = time, BatchSize = 5 }, null, Token);

        result.Success.Should().BeTrue();
        result.DryRun.Should().BeFalse();
        result.Errors.Should().BeEmpty();
        result.Warnings.Should().BeEmpty();
        result.RecordsSkipped.Should().Be(0);
        result.Manifest.Encrypted.Should().Be(key is not null);
        result.Manifest.Compression.Should().Be(compression);
        (await BackupTestData.SnapshotAsync(target, Token)).Should().Equal(await BackupTestData.SnapshotAsync(source, Token));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public async Task BackupAsync_CollectionEndingWithAFullLineBuffer_GetsItsChecksum(int collections)
    {
        // Each collection's last record fills the line buffer, so it is handed over right after it: the collection then
        // ends (by the next collection, or by the end of the backup) in a buffer that holds nothing yet.
        var time = NewTime();
        await using var source = new InMemoryStore("source", timeProvider: time);
        var big = $"{{\"text\":\"{new string('x', ArchiveWriter.FlushThreshold)}\"}}";
        for (var c = 0; c < collections; c++)
        {
            await BackupTestData.PutJsonAsync(source, $"c{c}", "a", $"{{\"small\":{c}}}", null, Token);
            await BackupTestData.PutJsonAsync(source, $"c{c}", "z", big, null, Token);
        }

        var bytes = await ArchiveAsync(source, Options(time));
        var manifest = await StoreBackup.VerifyAsync(new MemoryStream(bytes), null, Token);
        await using var target = new InMemoryStore("target", timeProvider: time);
        await StoreBackup.RestoreAsync(new MemoryStream(bytes), target, null, null, Token);

        manifest.Collections.Select(c => c.Entries).Should().Equal(Enumerable.Repeat(2L, collections));
        manifest.Collections.Select(c => c.Sha256).Should().OnlyHaveUniqueItems().And.NotContain("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        (await BackupTestData.SnapshotAsync(target, Token)).Should().Equal(await BackupTestData.SnapshotAsync(source, Token));
    }

    [Fact]
    public async Task BackupAsync_Manifest_DescribesStoreCollectionsAndCounts()
    {
        var time = NewTime();
        await using var source = await SeededAsync(time);
        using var archive = new MemoryStream();
        var started = time.GetUtcNow();

        var manifest = await source.BackupAsync(archive, Options(time), null, Token);

        manifest.FormatVersion.Should().Be(3);
        manifest.CreatedAt.Should().Be(started);
        manifest.StoreName.Should().Be("source");
        manifest.StoreKind.Should().Be(nameof(InMemoryStore));
        manifest.SerializerFormat.Should().Be("json");
        manifest.Kind.Should().Be(BackupKind.Full);
        manifest.ModifiedSince.Should().BeNull();
        manifest.Collections.Select(c => c.Name).Should().Equal(BackupTestData.Collections);
        foreach (var collection in manifest.Collections)
        {
            collection.Entries.Should().Be(await source.CountAsync(collection.Name, Token));
            collection.Sha256.Should().MatchRegex("^[0-9a-f]{64}$");
        }

        manifest.TotalEntries.Should().Be(manifest.Collections.Sum(c => c.Entries));
        archive.Position = 0;
        (await StoreBackup.VerifyAsync(archive, null, Token)).Should().BeEquivalentTo(manifest);
        archive.Position = 0;
        (await StoreBackup.ReadManifestAsync(archive, null, Token)).Should().BeEquivalentTo(manifest);
    }

    [Fact]
    public async Task BackupAsync_SameRecords_SameChecksumsWhateverTheCompressionOrEncryption()
    {
        var time = NewTime();
        await using var source = await SeededAsync(time);
        using var plain = new MemoryStream();
        using var encrypted = new MemoryStream();

        var a = await source.BackupAsync(plain, Options(time, BackupCompression.None), null, Token);
        var b = await source.BackupAsync(encrypted, Options(time, BackupCompression.Brotli, RawKey), null, Token);

        b.Collections.Should().BeEquivalentTo(a.Collections, o => o.WithStrictOrdering());
    }

    [Theory]
    [InlineData(BackupCompression.Gzip, 3)]
    [InlineData(BackupCompression.Brotli, 3)]
    [InlineData(BackupCompression.None, 3)]
    [InlineData(BackupCompression.Zstd, 4)]
    public async Task BackupAsync_FormatVersion_IsThreeUnlessZstdTakesFour(BackupCompression compression, int version)
    {
        var time = NewTime();
        await using var source = await SeededAsync(time);

        var bytes = await ArchiveAsync(source, Options(time, compression));
        var manifest = await StoreBackup.VerifyAsync(new MemoryStream(bytes), null, Token);

        manifest.FormatVersion.Should().Be(version);
        manifest.Compression.Should().Be(compression);
        System.Buffers.Binary.BinaryPrimitives.ReadUInt16BigEndian(bytes.AsSpan(4)).Should().Be((ushort)version);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task BackupAsync_Zstd_RestoresEveryRecordWithOrWithoutEncryption(bool encrypted)
    {
        var time = NewTime();
        await using var source = await SeededAsync(time);
        var key = encrypted ? Password : null;

        var bytes = await ArchiveAsync(source, Options(time, BackupCompression.Zstd, key));
        var gzip = await ArchiveAsync(source, Options(time, BackupCompression.Gzip, key));
        var manifest = await StoreBackup.VerifyAsync(new MemoryStream(bytes), key, Token);
        await using var target = new InMemoryStore("target", timeProvider: time);
        var result = await StoreBackup.RestoreAsync(new ForwardOnlyStream(new MemoryStream(bytes)), target, new RestoreOptions { Decryption = key, TimeProvider = time }, null, Token);

        manifest.Encrypted.Should().Be(encrypted);
        manifest.Compression.Should().Be(BackupCompression.Zstd);
        manifest.Collections.Should().BeEquivalentTo((await StoreBackup.VerifyAsync(new MemoryStream(gzip), key, Token)).Collections, o => o.WithStrictOrdering());
        result.Success.Should().BeTrue();
        (await BackupTestData.SnapshotAsync(target, Token)).Should().Equal(await BackupTestData.SnapshotAsync(source, Token));
    }

    [Theory]
    [InlineData(System.IO.Compression.CompressionLevel.Optimal)]
    [InlineData(System.IO.Compression.CompressionLevel.Fastest)]
    [InlineData(System.IO.Compression.CompressionLevel.NoCompression)]
    [InlineData(System.IO.Compression.CompressionLevel.SmallestSize)]
    public async Task BackupAsync_ZstdAtEveryLevel_Verifies(System.IO.Compression.CompressionLevel level)
    {
        var time = NewTime();
        await using var source = await SeededAsync(time);

        var bytes = await ArchiveAsync(source, Options(time, BackupCompression.Zstd) with { CompressionLevel = level });

        (await StoreBackup.VerifyAsync(new MemoryStream(bytes), null, Token)).TotalEntries.Should().BeGreaterThan(0);
    }

    [Fact]
    public async Task BackupAsync_SelectedCollections_ArchivesOnlyThoseAndEmptyOnesAsEmpty()
    {
        var time = NewTime();
        await using var source = await SeededAsync(time);
        using var archive = new MemoryStream();

        var manifest = await source.BackupAsync(archive, Options(time) with { Collections = ["users", "nothing-here", "users"] }, null, Token);

        manifest.Collections.Select(c => (c.Name, c.Entries)).Should().Equal(("nothing-here", 0L), ("users", await source.CountAsync("users", Token)));
    }

    [Fact]
    public async Task BackupAsync_ReadsTheStorePageByPage()
    {
        var time = NewTime();
        await using var inner = await SeededAsync(time);
        await using var source = new ScanRecordingStore(inner);

        await source.BackupAsync(Stream.Null, Options(time) with { PageSize = 4 }, null, Token);

        source.Scans.Should().NotBeEmpty().And.OnlyContain(o => o.Limit == 4);
        source.Scans.Count(o => o.StartAfter is null).Should().Be(BackupTestData.Collections.Count);
    }

    [Fact]
    public async Task BackupAsync_Progress_ReportsEveryCollectionAndTheTotal()
    {
        var time = NewTime();
        await using var source = await SeededAsync(time);
        var reports = new List<BackupProgress>();

        var manifest = await source.BackupAsync(Stream.Null, Options(time) with { PageSize = 3 }, new SyncProgress<BackupProgress>(reports.Add), Token);

        reports.Select(r => r.Collection).Distinct().Should().Equal(BackupTestData.Collections);
        reports[^1].TotalEntries.Should().Be(manifest.TotalEntries);
        reports.Select(r => r.TotalEntries).Should().BeInAscendingOrder();
    }

    [Fact]
    public async Task BackupAsync_Cancelled_LeavesAnArchiveThatFailsVerification()
    {
        var time = NewTime();
        await using var source = await SeededAsync(time);
        using var archive = new MemoryStream();
        using var cts = new CancellationTokenSource();
        var progress = new SyncProgress<BackupProgress>(p =>
        {
            if (p.TotalEntries > 10)
            {
                cts.Cancel();
            }
        });

        await FluentActions.Awaiting(() => source.BackupAsync(archive, Options(time) with { PageSize = 2 }, progress, cts.Token)).Should().ThrowAsync<OperationCanceledException>();

        archive.Position = 0;
        await FluentActions.Awaiting(() => StoreBackup.VerifyAsync(archive, null, Token)).Should().ThrowAsync<BackupArchiveException>();
    }

    [Fact]
    public async Task RestoreAsync_ForwardOnlyStream_VerifiesThenRestoresFromSpoolFile()
    {
        var time = NewTime();
        await using var source = await SeededAsync(time);
        var bytes = await ArchiveAsync(source, Options(time, key: Password));
        await using var target = new InMemoryStore("target", timeProvider: time);
        var spool = Directory.CreateTempSubdirectory("persistence-spool-");
        try
        {
            var result = await StoreBackup.RestoreAsync(new ForwardOnlyStream(new MemoryStream(bytes)), target, new RestoreOptions { Decryption = Password, SpoolDirectory = spool.FullName, TimeProvider = time }, null, Token);

            result.Success.Should().BeTrue();
            (await BackupTestData.SnapshotAsync(target, Token)).Should().Equal(await BackupTestData.SnapshotAsync(source, Token));
            spool.EnumerateFiles().Should().BeEmpty("the spool file is deleted when the restore ends");
        }
        finally
        {
            spool.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task RestoreAsync_ForwardOnlyCorruptedStream_WritesNothingAndDeletesSpool()
    {
        var time = NewTime();
        await using var source = await SeededAsync(time);
        var bytes = await ArchiveAsync(source, Options(time, BackupCompression.None));
        bytes[^40] ^= 0x01;
        await using var target = new InMemoryStore("target", timeProvider: time);
        var spool = Directory.CreateTempSubdirectory("persistence-spool-");
        try
        {
            await FluentActions.Awaiting(() => StoreBackup.RestoreAsync(new ForwardOnlyStream(new MemoryStream(bytes)), target, new RestoreOptions { SpoolDirectory = spool.FullName, TimeProvider = time }, null, Token))
                .Should().ThrowAsync<BackupArchiveException>();

            (await BackupTestData.SnapshotAsync(target, Token)).Should().BeEmpty();
            spool.EnumerateFiles().Should().BeEmpty();
        }
        finally
        {
            spool.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task RestoreAsync_SelectedCollections_RestoresOnlyThoseAndWarnsAboutMissingOnes()
    {
        var time = NewTime();
        await using var source = await SeededAsync(time);
        var bytes = await ArchiveAsync(source, Options(time));
        await using var target = new InMemoryStore("target", timeProvider: time);

        var result = await StoreBackup.RestoreAsync(new MemoryStream(bytes), target, new RestoreOptions { Collections = ["orders", "absent"], TimeProvider = time }, null, Token);

        result.CollectionsRestored.Should().Equal("orders");
        result.RecordsRestored.Should().Be(await source.CountAsync("orders", Token));
        result.Warnings.Should().ContainSingle().Which.Should().Contain("'absent'");
        (await BackupTestData.SnapshotAsync(target, Token)).Should().Equal((await BackupTestData.SnapshotAsync(source, Token)).Where(r => r.StartsWith("orders |", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task RestoreAsync_FailOnConflict_ThrowsBeforeWritingAnything()
    {
        var time = NewTime();
        await using var source = await SeededAsync(time);
        var bytes = await ArchiveAsync(source, Options(time));
        await using var target = new InMemoryStore("target", timeProvider: time);
        await BackupTestData.PutJsonAsync(target, "users", "z", "{\"mine\":true}", null, Token);
        var before = await BackupTestData.SnapshotAsync(target, Token);

        var error = await FluentActions.Awaiting(() => StoreBackup.RestoreAsync(new MemoryStream(bytes), target, new RestoreOptions { TimeProvider = time, BatchSize = 2 }, null, Token))
            .Should().ThrowAsync<ConcurrencyConflictException>();

        error.Which.Message.Should().Contain("users/z").And.Contain("nothing was written");
        (await BackupTestData.SnapshotAsync(target, Token)).Should().Equal(before);
    }

    [Fact]
    public async Task RestoreAsync_PreserveExisting_KeepsExistingRecordsAndCountsThemSkipped()
    {
        var time = NewTime();
        await using var source = await SeededAsync(time);
        var bytes = await ArchiveAsync(source, Options(time));
        await using var target = new InMemoryStore("target", timeProvider: time);
        await BackupTestData.PutJsonAsync(target, "users", "z", "{\"mine\":true}", null, Token);
        var total = (await BackupTestData.SnapshotAsync(source, Token)).Count;

        var result = await StoreBackup.RestoreAsync(new MemoryStream(bytes), target, new RestoreOptions { Mode = ImportMode.PreserveExisting, TimeProvider = time }, null, Token);

        result.RecordsRestored.Should().Be(total - 1);
        result.RecordsSkipped.Should().Be(1);
        BackupTestData.Row((await target.GetAsync("users", "z", Token))!, target.Serializer).Should().Contain("{\"mine\":true}");
    }

    [Fact]
    public async Task RestoreAsync_Overwrite_ReplacesExistingRecordsWithArchivedVersions()
    {
        var time = NewTime();
        await using var source = await SeededAsync(time);
        var bytes = await ArchiveAsync(source, Options(time));
        await using var target = new InMemoryStore("target", timeProvider: time);
        for (var i = 0; i < 5; i++)
        {
            await BackupTestData.PutJsonAsync(target, "users", "z", "{\"mine\":true}", null, Token);
        }

        var result = await StoreBackup.RestoreAsync(new MemoryStream(bytes), target, new RestoreOptions { Mode = ImportMode.Overwrite, TimeProvider = time }, null, Token);

        result.RecordsSkipped.Should().Be(0);
        (await BackupTestData.SnapshotAsync(target, Token)).Should().Equal(await BackupTestData.SnapshotAsync(source, Token));
    }

    [Theory]
    [InlineData(ImportMode.FailOnConflict, false, 0, 1)]
    [InlineData(ImportMode.PreserveExisting, true, -2, 2)]
    [InlineData(ImportMode.Overwrite, true, 0, 0)]
    public async Task RestoreAsync_DryRun_ReportsWhatWouldHappenAndWritesNothing(ImportMode mode, bool success, int restoredDelta, int skippedOrErrors)
    {
        var time = NewTime();
        await using var source = await SeededAsync(time);
        var bytes = await ArchiveAsync(source, Options(time));
        await using var target = new InMemoryStore("target", timeProvider: time);
        await BackupTestData.PutJsonAsync(target, "users", "z", "{\"mine\":true}", null, Token);
        await BackupTestData.PutJsonAsync(target, "orders", "a", "{\"mine\":true}", null, Token);
        var before = await BackupTestData.SnapshotAsync(target, Token);
        var total = (await BackupTestData.SnapshotAsync(source, Token)).Count;

        var result = await StoreBackup.RestoreAsync(new MemoryStream(bytes), target, new RestoreOptions { Mode = mode, DryRun = true, TimeProvider = time }, null, Token);

        result.DryRun.Should().BeTrue();
        result.Success.Should().Be(success);
        (await BackupTestData.SnapshotAsync(target, Token)).Should().Equal(before);
        // Two archived keys exist in the target: replaced by Overwrite, conflicts for the other modes; the rest are new.
        result.Plan.Should().Be(mode == ImportMode.Overwrite ? new RestorePlan(total - 2, 2, 0) : new RestorePlan(total - 2, 0, 2));
        if (mode == ImportMode.FailOnConflict)
        {
            result.RecordsRestored.Should().Be(0);
            result.Errors.Should().HaveCount(2).And.Contain(e => e.Contains("'users/z'", StringComparison.Ordinal));
        }
        else
        {
            result.RecordsRestored.Should().Be(total + restoredDelta);
            result.RecordsSkipped.Should().Be(skippedOrErrors);
            result.Errors.Should().BeEmpty();
        }
    }

    [Fact]
    public async Task RestoreAsync_ExpiredRecords_AreSkippedWithAWarning()
    {
        var time = NewTime();
        await using var source = new InMemoryStore("source", timeProvider: time);
        await BackupTestData.PutJsonAsync(source, "c", "short", "{}", new PutOptions { TimeToLive = TimeSpan.FromMinutes(5) }, Token);
        await BackupTestData.PutJsonAsync(source, "c", "long", "{}", new PutOptions { TimeToLive = TimeSpan.FromDays(5) }, Token);
        var bytes = await ArchiveAsync(source, Options(time));
        time.Advance(TimeSpan.FromHours(1));
        await using var target = new InMemoryStore("target", timeProvider: time);

        var result = await StoreBackup.RestoreAsync(new MemoryStream(bytes), target, new RestoreOptions { TimeProvider = time }, null, Token);

        result.RecordsRestored.Should().Be(1);
        result.RecordsSkipped.Should().Be(1);
        result.Warnings.Should().ContainSingle().Which.Should().Contain("expired");
        (await target.GetAsync("c", "long", Token))!.ExpiresAt.Should().Be((await source.GetAsync("c", "long", Token))!.ExpiresAt);
    }

    [Fact]
    public async Task RestoreAsync_Progress_ReportsVerificationThenRestoring()
    {
        var time = NewTime();
        await using var source = await SeededAsync(time);
        var bytes = await ArchiveAsync(source, Options(time));
        await using var target = new InMemoryStore("target", timeProvider: time);
        var reports = new List<RestoreProgress>();

        var result = await StoreBackup.RestoreAsync(new MemoryStream(bytes), target, new RestoreOptions { TimeProvider = time, BatchSize = 4 }, new SyncProgress<RestoreProgress>(reports.Add), Token);

        reports.Should().Contain(r => r.Phase == RestorePhase.Verifying);
        reports.SkipWhile(r => r.Phase == RestorePhase.Verifying).Should().OnlyContain(r => r.Phase == RestorePhase.Restoring && r.TotalEntries == result.Manifest.TotalEntries);
        reports[^1].EntriesProcessed.Should().Be(result.Manifest.TotalEntries);
    }

    [Fact]
    public async Task RestoreAsync_SeekableStreamNotAtStart_ReadsFromItsPosition()
    {
        var time = NewTime();
        await using var source = await SeededAsync(time);
        using var stream = new MemoryStream();
        stream.Write("prefix"u8);
        await source.BackupAsync(stream, Options(time), null, Token);
        stream.Position = 6;
        await using var target = new InMemoryStore("target", timeProvider: time);

        await StoreBackup.RestoreAsync(stream, target, new RestoreOptions { TimeProvider = time }, null, Token);

        (await BackupTestData.SnapshotAsync(target, Token)).Should().Equal(await BackupTestData.SnapshotAsync(source, Token));
    }

    [Fact]
    public void BackupKey_InvalidInput_ThrowsClearly()
    {
        FluentActions.Invoking(() => BackupKey.FromKey(new byte[16])).Should().Throw<ArgumentException>().WithMessage("*32 bytes*16*");
        FluentActions.Invoking(() => BackupKey.FromPassword(string.Empty)).Should().Throw<ArgumentException>();
        FluentActions.Invoking(() => BackupKey.FromPassword(null!)).Should().Throw<ArgumentNullException>();
    }

    [Fact]
    public async Task BackupAsync_InvalidOptions_ThrowClearly()
    {
        await using var store = new InMemoryStore();
        async Task Fails<T>(BackupOptions options, string name)
            where T : ArgumentException
            => (await FluentActions.Awaiting(() => store.BackupAsync(new MemoryStream(), options, null, Token)).Should().ThrowAsync<T>()).Which.ParamName.Should().Be(name);

        await Fails<ArgumentOutOfRangeException>(new BackupOptions { PasswordIterations = 1000 }, "PasswordIterations");
        await Fails<ArgumentOutOfRangeException>(new BackupOptions { ChunkSize = 100 }, "ChunkSize");
        await Fails<ArgumentOutOfRangeException>(new BackupOptions { PageSize = 0 }, "PageSize");
        await Fails<ArgumentOutOfRangeException>(new BackupOptions { Compression = (BackupCompression)42 }, "Compression");
        await Fails<ArgumentException>(new BackupOptions { Collections = ["../bad"] }, "Collections");
        await FluentActions.Awaiting(() => store.BackupAsync(new MemoryStream([], writable: false), null, null, Token)).Should().ThrowAsync<ArgumentException>().WithParameterName("destination");
        await FluentActions.Awaiting(() => StoreBackup.RestoreAsync(new MemoryStream(), store, new RestoreOptions { BatchSize = 0 }, null, Token)).Should().ThrowAsync<ArgumentOutOfRangeException>().WithParameterName("BatchSize");
        await FluentActions.Awaiting(() => StoreBackup.RestoreAsync(new MemoryStream(), store, new RestoreOptions { Mode = (ImportMode)9 }, null, Token)).Should().ThrowAsync<ArgumentOutOfRangeException>().WithParameterName("Mode");
    }

    /// <summary>Records the scan options every scan is called with.</summary>
    private sealed class ScanRecordingStore(IStore inner) : DelegatingStore(inner, disposesInner: false)
    {
        public List<ScanOptions> Scans { get; } = [];

        public override IAsyncEnumerable<StoreEntry> ScanAsync(string collection, ScanOptions? options = null, CancellationToken cancellationToken = default)
        {
            Scans.Add(options ?? new ScanOptions());
            return Inner.ScanAsync(collection, options, cancellationToken);
        }
    }
}
