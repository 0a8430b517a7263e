using Microsoft.Extensions.Time.Testing;
using Persistence.Backup;

namespace Persistence.Testing;

/// <summary>
/// Backup, restore and migration over one kind of store: round trips into the same kind, from and into the in-memory
/// store, across payload formats, incremental backups and migration with verification. Derive one test class per
/// store kind and supply <see cref="CreateStoreAsync"/>.
/// </summary>
/// <remarks>
/// Every store the factory returns must be empty and independent of the others; a test may create several (a source and
/// a target). The stores are disposed and <see cref="CleanupAsync"/> is called after each test.
/// </remarks>
public abstract class StoreBackupConformanceTests : IAsyncLifetime
{
    private static readonly BackupKey Password = BackupKey.FromPassword("correct horse battery staple");
    private readonly List<IStore> _stores = [];

    /// <summary>Initializes a new instance of the <see cref="StoreBackupConformanceTests"/> class with a fake clock.</summary>
    protected StoreBackupConformanceTests()
    {
        Time = new FakeTimeProvider(StoreConformanceTests.StartTime);
    }

    /// <summary>Gets the fake clock handed to every store.</summary>
    protected FakeTimeProvider Time { get; }

    /// <summary>Gets the cancellation token of the running test.</summary>
    protected static CancellationToken Token => TestContext.Current.CancellationToken;

    /// <summary>Creates a new, empty store of the kind under test, independent of any created before.</summary>
    /// <param name="timeProvider">The clock the store must use.</param>
    /// <returns>The store.</returns>
    protected abstract ValueTask<IStore> CreateStoreAsync(TimeProvider timeProvider);

    /// <summary>Releases what the factory created besides the stores; called after they are disposed.</summary>
    /// <returns>A task that completes when the cleanup is done.</returns>
    protected virtual ValueTask CleanupAsync() => default;

    /// <inheritdoc />
    public ValueTask InitializeAsync() => default;

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        try
        {
            foreach (var store in _stores)
            {
                await store.DisposeAsync();
            }
        }
        finally
        {
            await CleanupAsync();
            GC.SuppressFinalize(this);
        }
    }

    /// <summary>A backup restored into an empty store of the same kind gives back every record, versions and timestamps included, with every compression and encryption.</summary>
    /// <param name="compression">The archive's compression.</param>
    /// <param name="encrypted">Whether the archive is encrypted with a password.</param>
    /// <returns>A task that completes when the test is done.</returns>
    [Theory]
    [InlineData(BackupCompression.Gzip, false)]
    [InlineData(BackupCompression.Brotli, true)]
    [InlineData(BackupCompression.None, true)]
    [InlineData(BackupCompression.Zstd, false)]
    [InlineData(BackupCompression.Zstd, true)]
    public async Task BackupRestore_IntoSameKind_RestoresEveryRecord(BackupCompression compression, bool encrypted)
    {
        var source = await SeededAsync();
        var target = await NewStoreAsync();
        using var archive = new MemoryStream();
        var key = encrypted ? Password : null;

        var manifest = await source.BackupAsync(archive, new BackupOptions { Compression = compression, Encryption = key, PasswordIterations = BackupOptions.MinPasswordIterations, TimeProvider = Time }, null, Token);
        archive.Position = 0;
        var result = await StoreBackup.RestoreAsync(archive, target, new RestoreOptions { Decryption = key, TimeProvider = Time }, null, Token);

        var expected = await BackupTestData.SnapshotAsync(source, Token);
        Assert.True(result.Success);
        Assert.Equal(expected.Count, manifest.TotalEntries);
        Assert.Equal(expected.Count, result.RecordsRestored);
        Assert.Equal(BackupTestData.Collections, result.CollectionsRestored);
        Assert.Equal(expected, await BackupTestData.SnapshotAsync(target, Token));
    }

    /// <summary>Records move both ways between this kind and the in-memory store through an archive.</summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task BackupRestore_BetweenThisKindAndInMemory_RestoresEveryRecord()
    {
        var source = await SeededAsync();
        var memory = Track(new InMemoryStore("memory", timeProvider: Time));
        var back = await NewStoreAsync();

        await RoundTripAsync(source, memory);
        await RoundTripAsync(memory, back);

        var expected = await BackupTestData.SnapshotAsync(source, Token);
        Assert.Equal(expected, await BackupTestData.SnapshotAsync(memory, Token));
        Assert.Equal(expected, await BackupTestData.SnapshotAsync(back, Token));
    }

    /// <summary>
    /// An archive restores into a store of another payload format and back: documents are archived as neutral JSON and
    /// written through the target's serializer.
    /// </summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task BackupRestore_AcrossFormats_TranscodesEveryDocument()
    {
        var source = await SeededAsync();
        var foreign = Track(new InMemoryStore("envelope", EnvelopeSerializer.Instance, Time));
        var back = await NewStoreAsync();

        await RoundTripAsync(source, foreign);
        await RoundTripAsync(foreign, back);

        var expected = await BackupTestData.SnapshotAsync(source, Token);
        Assert.Equal(expected, await BackupTestData.SnapshotAsync(foreign, Token));
        Assert.Equal(expected, await BackupTestData.SnapshotAsync(back, Token));
        var any = await foreign.GetAsync("users", "a", Token);
        Assert.NotNull(any);
        Assert.StartsWith("ENVELOPE:", System.Text.Encoding.UTF8.GetString(any.Payload.Span), StringComparison.Ordinal);
    }

    /// <summary>A full backup plus an incremental one, restored in order, give the store's latest state.</summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task Restore_FullThenIncremental_GivesLatestState()
    {
        var source = await SeededAsync();
        using var full = new MemoryStream();
        await source.BackupAsync(full, new BackupOptions { TimeProvider = Time }, null, Token);
        Time.Advance(TimeSpan.FromHours(1));
        var since = Time.GetUtcNow();
        Time.Advance(TimeSpan.FromSeconds(1));
        await BackupTestData.PutJsonAsync(source, "users", "a", BackupTestData.DocumentJson("users", "a", 99), null, Token);
        await BackupTestData.PutJsonAsync(source, "users", "new-user", "{\"name\":\"new\"}", null, Token);
        await BackupTestData.PutJsonAsync(source, "fresh", "only", "{\"x\":1}", null, Token);
        using var incremental = new MemoryStream();

        var manifest = await source.BackupAsync(incremental, new BackupOptions { ModifiedSince = since, TimeProvider = Time }, null, Token);

        Assert.Equal(BackupKind.Incremental, manifest.Kind);
        Assert.Equal(3, manifest.TotalEntries);
        var target = await NewStoreAsync();
        full.Position = 0;
        incremental.Position = 0;
        await StoreBackup.RestoreAsync(full, target, new RestoreOptions { TimeProvider = Time }, null, Token);
        var result = await StoreBackup.RestoreAsync(incremental, target, new RestoreOptions { Mode = ImportMode.Overwrite, TimeProvider = Time }, null, Token);
        Assert.Equal(3, result.RecordsRestored);
        Assert.Equal(await BackupTestData.SnapshotAsync(source, Token), await BackupTestData.SnapshotAsync(target, Token));
    }

    /// <summary>
    /// A full backup and two incrementals, with deletes between them (a record, a record written again, a whole
    /// collection), restored in order with overwrite, give the store's latest state: incrementals carry deletions.
    /// </summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task Restore_FullThenIncrementals_CarriesDeletions()
    {
        var source = await SeededAsync();
        Time.Advance(TimeSpan.FromMinutes(1));
        using var full = new MemoryStream();
        var fullManifest = await source.BackupAsync(full, new BackupOptions { TimeProvider = Time }, null, Token);
        Time.Advance(TimeSpan.FromMinutes(1));
        Assert.True(await source.DeleteAsync("users", "a", null, Token));
        await BackupTestData.PutJsonAsync(source, "users", "new-user", "{\"name\":\"new\"}", null, Token);
        Time.Advance(TimeSpan.FromMinutes(1));
        using var first = new MemoryStream();
        var firstManifest = await source.BackupAsync(first, new BackupOptions { ModifiedSince = fullManifest.CreatedAt, PageSize = 3, TimeProvider = Time }, null, Token);
        Time.Advance(TimeSpan.FromMinutes(1));
        Assert.True(await source.DeleteAsync("users", "new-user", null, Token));
        await BackupTestData.PutJsonAsync(source, "users", "a", "{\"name\":\"back\"}", null, Token);
        var configKeys = new List<string>();
        await foreach (var key in source.ListKeysAsync("config.v2", null, Token))
        {
            configKeys.Add(key);
        }

        foreach (var key in configKeys)
        {
            await source.DeleteAsync("config.v2", key, null, Token);
        }

        Time.Advance(TimeSpan.FromMinutes(1));
        using var second = new MemoryStream();
        var secondManifest = await source.BackupAsync(second, new BackupOptions { ModifiedSince = firstManifest.CreatedAt, PageSize = 3, TimeProvider = Time }, null, Token);

        Assert.True(secondManifest.CarriesDeletions);
        Assert.DoesNotContain(secondManifest.Collections, c => c.Name == "config.v2");
        var target = await NewStoreAsync();
        var restore = new RestoreOptions { Mode = ImportMode.Overwrite, BatchSize = 2, TimeProvider = Time };
        long deleted = 0;
        foreach (var archive in new[] { full, first, second })
        {
            archive.Position = 0;
            deleted += (await StoreBackup.RestoreAsync(archive, target, restore, null, Token)).RecordsDeleted;
        }

        Assert.Equal(await BackupTestData.SnapshotAsync(source, Token), await BackupTestData.SnapshotAsync(target, Token));
        Assert.Equal(2 + configKeys.Count, deleted);
    }

    /// <summary>Migration from this kind to a store of another format and back keeps every record, and verification passes both ways.</summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task Migrate_ThroughAnotherFormatAndBack_VerifiesAndKeepsEveryRecord()
    {
        var source = await SeededAsync();
        var foreign = Track(new InMemoryStore("envelope", EnvelopeSerializer.Instance, Time));
        var back = await NewStoreAsync();

        var there = await source.MigrateAsync(foreign, new MigrationOptions { BatchSize = 7 }, null, Token);
        var home = await foreign.MigrateAsync(back, new MigrationOptions { BatchSize = 7 }, null, Token);

        var expected = await BackupTestData.SnapshotAsync(source, Token);
        Assert.True(there.Success, string.Join("; ", there.Errors));
        Assert.True(there.Verified);
        Assert.True(there.Transcoded);
        Assert.True(home.Success, string.Join("; ", home.Errors));
        Assert.Equal(expected.Count, there.EntriesCopied);
        Assert.Equal(expected, await BackupTestData.SnapshotAsync(foreign, Token));
        Assert.Equal(expected, await BackupTestData.SnapshotAsync(back, Token));
    }

    /// <summary>A tampered archive restored into a store of this kind throws and writes nothing.</summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task Restore_TamperedArchive_ThrowsAndWritesNothing()
    {
        var source = await SeededAsync();
        using var archive = new MemoryStream();
        await source.BackupAsync(archive, new BackupOptions { Compression = BackupCompression.None, TimeProvider = Time }, null, Token);
        var bytes = archive.ToArray();
        var at = bytes.Length * 3 / 4;
        bytes[at] = bytes[at] == (byte)'7' ? (byte)'8' : (byte)'7';
        var target = await NewStoreAsync();
        await BackupTestData.PutJsonAsync(target, "users", "existing", "{\"keep\":true}", null, Token);
        var before = await BackupTestData.SnapshotAsync(target, Token);

        var error = await Assert.ThrowsAsync<BackupArchiveException>(
            () => StoreBackup.RestoreAsync(new MemoryStream(bytes), target, new RestoreOptions { Mode = ImportMode.Overwrite, TimeProvider = Time }, null, Token));

        Assert.Equal(BackupArchiveError.Corrupted, error.Error);
        Assert.Equal(before, await BackupTestData.SnapshotAsync(target, Token));
    }

    /// <summary>
    /// Payloads a store accepts but whose bytes no document gives back — binary data, and in a JSON store JSON with an
    /// escaped lone surrogate (a truncated emoji) or whitespace — come back byte for byte through backup, verification,
    /// restore and a same-format migration, beside ordinary records.
    /// </summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task BackupRestoreMigrate_PayloadsNoDocumentGivesBack_ComeBackByteForByte()
    {
        var source = await NewStoreAsync();
        var payloads = UnusualPayloads(source.Serializer);
        foreach (var (key, payload) in payloads)
        {
            await source.PutAsync("unusual", key, payload, cancellationToken: Token);
        }

        await BackupTestData.PutJsonAsync(source, "unusual", "ordinary", "{\"name\":\"ordinary\",\"n\":1}", null, Token);
        using var archive = new MemoryStream();
        var manifest = await source.BackupAsync(archive, new BackupOptions { TimeProvider = Time }, null, Token);
        archive.Position = 0;
        var verified = await StoreBackup.VerifyAsync(archive, null, Token);
        archive.Position = 0;
        var restored = await NewStoreAsync();
        var result = await StoreBackup.RestoreAsync(archive, restored, new RestoreOptions { TimeProvider = Time }, null, Token);
        var migrated = await NewStoreAsync();
        var report = await source.MigrateAsync(migrated, new MigrationOptions { BatchSize = 2 }, null, Token);

        Assert.Equal(payloads.Count + 1, manifest.TotalEntries);
        Assert.Equal(manifest.Collections, verified.Collections);
        Assert.True(result.Success);
        Assert.True(report.Success, string.Join("; ", report.Errors));
        Assert.True(report.Verified);
        foreach (var (key, payload) in payloads)
        {
            Assert.Equal(payload, (await restored.GetAsync("unusual", key, Token))?.Payload.ToArray());
            Assert.Equal(payload, (await migrated.GetAsync("unusual", key, Token))?.Payload.ToArray());
        }
    }

    /// <summary>
    /// In a JSON store, queries over documents that escape lone surrogates answer as <see cref="QueryEvaluator"/> does
    /// over a scan, comparing such strings by their UTF-16 code units, and never throw.
    /// </summary>
    /// <returns>A task that completes when the test is done.</returns>
    [Fact]
    public async Task QueryAsync_DocumentsWithLoneSurrogates_AnswerAsTheEvaluatorWithoutThrowing()
    {
        var store = await NewStoreAsync();
        if (!string.Equals(store.Serializer.Format, "json", StringComparison.OrdinalIgnoreCase))
        {
            // Only a JSON payload can escape a lone surrogate; a store of another format holds it as opaque bytes.
            Assert.Throws<InvalidOperationException>(() => System.Text.Json.JsonDocument.Parse("\"\\ud83d\"").RootElement.GetString());
            return;
        }

        await store.PutAsync("q", "lone", "{\"text\":\"emoji \\ud83d\",\"n\":1}"u8.ToArray(), cancellationToken: Token);
        await store.PutAsync("q", "pair", "{\"text\":\"emoji \\ud83d\\ude00\",\"n\":2}"u8.ToArray(), cancellationToken: Token);
        await store.PutAsync("q", "plain", "{\"text\":\"emoji\",\"n\":3}"u8.ToArray(), cancellationToken: Token);
        using var lone = System.Text.Json.JsonDocument.Parse("\"emoji \\ud83d\"");
        Query[] queries =
        [
            new Query().Where("text", QueryOperator.Equal, lone.RootElement),
            new Query().Where("text", QueryOperator.NotEqual, lone.RootElement),
            new Query().Where("text", QueryOperator.StartsWith, "emoji "),
            new Query().Where("text", QueryOperator.GreaterThan, "emoji "),
            new Query().Where("n", QueryOperator.GreaterThan, 0).OrderByDescending("text"),
        ];

        foreach (var query in queries)
        {
            var expected = new List<string>();
            await foreach (var entry in QueryEvaluator.EvaluateAsync(store.ScanAsync("q", null, Token), query, store.Serializer, Token))
            {
                expected.Add(entry.Key);
            }

            var actual = new List<string>();
            await foreach (var entry in store.QueryAsync("q", query, Token))
            {
                actual.Add(entry.Key);
            }

            Assert.Equal(expected, actual);
        }

        var equal = new List<string>();
        await foreach (var entry in store.QueryAsync("q", queries[0], Token))
        {
            equal.Add(entry.Key);
        }

        Assert.Equal(["lone"], equal);
    }

    /// <summary>Creates a store of the kind under test and remembers it for disposal.</summary>
    /// <returns>The store.</returns>
    protected async Task<IStore> NewStoreAsync() => Track(await CreateStoreAsync(Time));

    private async Task<IStore> SeededAsync()
    {
        var store = await NewStoreAsync();
        await BackupTestData.SeedAsync(store, Time, Token);
        return store;
    }

    private async Task RoundTripAsync(IStore from, IStore to)
    {
        using var archive = new MemoryStream();
        await from.BackupAsync(archive, new BackupOptions { TimeProvider = Time }, null, Token);
        archive.Position = 0;
        var result = await StoreBackup.RestoreAsync(archive, to, new RestoreOptions { TimeProvider = Time }, null, Token);
        Assert.True(result.Success);
    }

    private static List<(string Key, byte[] Payload)> UnusualPayloads(ISerializer serializer)
    {
        List<(string Key, byte[] Payload)> payloads = [("binary", [0x00, 0xFF, 0xFE, 0xC3, 0x28, 0x0A, 0x7B, 0x80])];
        if (string.Equals(serializer.Format, "json", StringComparison.OrdinalIgnoreCase))
        {
            payloads.Add(("lone-surrogate", "{\"text\":\"emoji \\ud83d\"}"u8.ToArray()));
            payloads.Add(("spaced", "{ \"a\" : [ 1 , 2.50 ] ,\n \"b\" : \"caf\u00e9 \\u00e9\" }"u8.ToArray()));
            payloads.Add(("big-number", "{\"n\":123456789012345678901234567890.50,\"dup\":1,\"dup\":2}"u8.ToArray()));
        }

        return payloads;
    }

    private T Track<T>(T store)
        where T : IStore
    {
        _stores.Add(store);
        return store;
    }
}
