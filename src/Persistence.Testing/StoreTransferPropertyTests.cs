using System.Buffers;
using System.Text.Json;
using CsCheck;
using Microsoft.Extensions.Time.Testing;
using Persistence.Backup;

namespace Persistence.Testing;

/// <summary>
/// Generated documents move between every pair of store kinds — by backup and restore and by migration — and arrive as
/// the same documents with the same versions and timestamps, or the move is refused with a clear exception before
/// anything is written. Derive one test class in a project that references every store, name the kinds and create them.
/// </summary>
/// <remarks>
/// Each case writes up to eight generated documents into one store of every kind, then moves each store into a new store
/// of every other kind. Cases: <c>PERSISTENCE_PROPERTY_CASES</c> divided by 10 (at least 1), 10 by default.
/// </remarks>
public abstract class StoreTransferPropertyTests : IAsyncLifetime
{
    private const string Collection = "transfer";
    private readonly List<IStore> _stores = [];

    /// <summary>Initializes a new instance of the <see cref="StoreTransferPropertyTests"/> class with a fake clock.</summary>
    protected StoreTransferPropertyTests()
    {
        Time = new FakeTimeProvider(StoreConformanceTests.StartTime);
    }

    /// <summary>Gets the fake clock handed to every store.</summary>
    protected FakeTimeProvider Time { get; }

    /// <summary>Gets the cancellation token of the running test.</summary>
    protected static CancellationToken Token => TestContext.Current.CancellationToken;

    /// <summary>Gets the names of the store kinds to move documents between (at least two).</summary>
    protected abstract IReadOnlyList<string> StoreKinds { get; }

    /// <summary>Creates a new, empty store of a kind, independent of every store created before.</summary>
    /// <param name="kind">One of <see cref="StoreKinds"/>.</param>
    /// <param name="timeProvider">The clock the store must use.</param>
    /// <returns>The store; the suite disposes it after the test.</returns>
    protected abstract ValueTask<IStore> CreateStoreAsync(string kind, TimeProvider timeProvider);

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

    /// <summary>Generated documents backed up from every kind and restored into every other kind arrive unchanged.</summary>
    /// <returns>A task that completes when every case held.</returns>
    [Fact]
    public Task Property_BackupRestore_EveryKindIntoEveryOtherKind_KeepsEveryDocument()
        => TransferPropertyAsync(PropertyGenerators.Document, BackupRestoreAsync);

    /// <summary>Generated documents migrated from every kind into every other kind arrive unchanged and verified.</summary>
    /// <returns>A task that completes when every case held.</returns>
    [Fact]
    public Task Property_Migrate_EveryKindIntoEveryOtherKind_KeepsEveryDocument()
        => TransferPropertyAsync(PropertyGenerators.Document, MigrateAsync);

    /// <summary>Documents with escaped unpaired surrogates move by backup and restore as the others do, or are refused before anything is written.</summary>
    /// <returns>A task that completes when every case held.</returns>
    [Fact]
    public Task Property_BackupRestoreOfLoneSurrogateDocuments_EveryKindIntoEveryOtherKind_KeepsEveryDocument()
        => TransferPropertyAsync(PropertyGenerators.DocumentWithLoneSurrogates, BackupRestoreAsync);

    /// <summary>Documents with escaped unpaired surrogates migrate as the others do, or are refused before anything is written.</summary>
    /// <returns>A task that completes when every case held.</returns>
    [Fact]
    public Task Property_MigrateLoneSurrogateDocuments_EveryKindIntoEveryOtherKind_KeepsEveryDocument()
        => TransferPropertyAsync(PropertyGenerators.DocumentWithLoneSurrogates, MigrateAsync);

    /// <summary>Generated documents exported from every kind as JSON Lines and imported into every other kind arrive unchanged (byte for byte between JSON stores).</summary>
    /// <returns>A task that completes when every case held.</returns>
    [Fact]
    public Task Property_ExportImportJsonLines_EveryKindIntoEveryOtherKind_KeepsEveryDocument()
        => TransferPropertyAsync(PropertyGenerators.Document, (source, target) => ExportImportAsync(source, target, "jsonl"));

    /// <summary>Generated documents exported from every kind as a JSON array and imported into every other kind arrive unchanged.</summary>
    /// <returns>A task that completes when every case held.</returns>
    [Fact]
    public Task Property_ExportImportJson_EveryKindIntoEveryOtherKind_KeepsEveryDocument()
        => TransferPropertyAsync(PropertyGenerators.Document, (source, target) => ExportImportAsync(source, target, "json"));

    /// <summary>Documents with escaped unpaired surrogates move through JSON Lines as the others do, or are refused before anything is written.</summary>
    /// <returns>A task that completes when every case held.</returns>
    [Fact]
    public Task Property_ExportImportJsonLinesOfLoneSurrogateDocuments_EveryKindIntoEveryOtherKind_KeepsEveryDocument()
        => TransferPropertyAsync(PropertyGenerators.DocumentWithLoneSurrogates, (source, target) => ExportImportAsync(source, target, "jsonl"));

    /// <summary>
    /// Flat documents (one object of scalars per record, fields from one list in one order, any of them missing) exported
    /// from every kind as CSV and imported into every other kind arrive unchanged, or are refused before anything is written.
    /// </summary>
    /// <returns>A task that completes when every case held.</returns>
    [Fact]
    public Task Property_ExportImportCsvOfFlatDocuments_EveryKindIntoEveryOtherKind_KeepsEveryDocument()
        => TransferPropertyAsync(PropertyGenerators.FlatRecords, (source, target) => ExportImportAsync(source, target, "csv"));

    private Task TransferPropertyAsync(Gen<string> documents, Func<IStore, IStore, Task> transfer)
        => TransferPropertyAsync(Gen.Select(PropertyGenerators.Key, documents).Array[1, 8], transfer);

    private async Task TransferPropertyAsync(Gen<(string Key, string Json)[]> records, Func<IStore, IStore, Task> transfer)
    {
        Assert.True(StoreKinds.Count >= 2, "Name at least two store kinds.");
        await PropertyChecks.RunAsync(
            records,
            async input =>
            {
                try
                {
                    await TransferCaseAsync(input, transfer);
                }
                finally
                {
                    // One case's stores are closed before the next case opens its own.
                    foreach (var store in _stores)
                    {
                        await store.DisposeAsync();
                    }

                    _stores.Clear();
                }
            },
            input => $"records [{string.Join(", ", input.Select(r => $"{PropertyChecks.Readable(r.Item1)}: {PropertyChecks.Readable(r.Item2)}"))}]",
            Math.Max(1, PropertyChecks.Cases(PropertyChecks.DefaultCases) / 10));
    }

    private async Task TransferCaseAsync((string Key, string Json)[] input, Func<IStore, IStore, Task> transfer)
    {
        var sources = new List<(string Kind, IStore Store)>();
        foreach (var kind in StoreKinds)
        {
            var store = await NewStoreAsync(kind);
            foreach (var (key, json) in input)
            {
                Time.Advance(TimeSpan.FromMilliseconds(1001));
                await TryPutAsync(store, key, json);
            }

            sources.Add((kind, store));
        }

        foreach (var (sourceKind, source) in sources)
        {
            var expected = await SnapshotAsync(source);
            foreach (var targetKind in StoreKinds.Where(k => k != sourceKind))
            {
                var target = await NewStoreAsync(targetKind);
                try
                {
                    await transfer(source, target);
                }
                catch (Exception e) when (e is PersistenceException or ArgumentException or NotSupportedException)
                {
                    var written = await SnapshotAsync(target);
                    Assert.True(written.Count == 0, $"{sourceKind} -> {targetKind}: the move was refused ({e.GetType().Name}: {e.Message}) after writing {written.Count} records.");
                    continue;
                }

                AssertSameRecords(sourceKind, source, expected, targetKind, target, await SnapshotAsync(target));
            }
        }
    }

    private async Task BackupRestoreAsync(IStore source, IStore target)
    {
        using var archive = new MemoryStream();
        await source.BackupAsync(archive, new BackupOptions { TimeProvider = Time }, null, Token);
        archive.Position = 0;
        var result = await StoreBackup.RestoreAsync(archive, target, new RestoreOptions { BatchSize = 3, TimeProvider = Time }, null, Token);
        Assert.True(result.Success, $"Restore from {source.Name} into {target.Name} did not succeed.");
    }

    private async Task ExportImportAsync(IStore source, IStore target, string format)
    {
        using var file = new MemoryStream();
        var exported = await source.ExportRecordsAsync(Collection, file, new RecordExportOptions { Format = format, PageSize = 3 }, null, Token);
        file.Position = 0;
        var imported = await target.ImportRecordsAsync(Collection, file, new RecordImportOptions { Format = format, BatchSize = 3, TimeProvider = Time }, null, Token);
        Assert.True(imported.Created == exported.Records, $"Export from {source.Name} wrote {exported.Records} records as {format}; the import into {target.Name} created {imported.Created}.");
        if (source.Serializer.Format == "json" && target.Serializer.Format == "json")
        {
            // Between JSON stores an export carries the payload itself: it comes back byte for byte.
            await foreach (var entry in source.ScanAsync(Collection, null, Token))
            {
                var arrived = await target.GetAsync(Collection, entry.Key, Token);
                Assert.True(
                    arrived is not null && arrived.Payload.Span.SequenceEqual(entry.Payload.Span),
                    $"{format} export from {source.Name} into {target.Name}: record {PropertyChecks.Readable(entry.Key)} arrived as {(arrived is null ? "nothing" : PropertyChecks.Readable(arrived.Payload.Span))}, expected {PropertyChecks.Readable(entry.Payload.Span)}.");
            }
        }
    }

    private async Task MigrateAsync(IStore source, IStore target)
    {
        var report = await source.MigrateAsync(target, new MigrationOptions { BatchSize = 3, TimeProvider = Time }, null, Token);
        if (!report.Success && report.Unreadable.Count > 0 && report.EntriesCopied == 0)
        {
            // Refused up front, naming the records the target cannot hold exactly: the caller checks nothing was written.
            throw new PersistenceException($"The migration was refused: {string.Join("; ", report.Unreadable.Select(u => $"{u.Collection}/{u.Key}: {u.Reason}"))}");
        }

        Assert.True(report.Success, $"Migration from {source.Name} into {target.Name} failed: {string.Join("; ", report.Errors)}");
        Assert.True(report.Verified, $"Migration from {source.Name} into {target.Name} did not verify.");
    }

    private async Task<IStore> NewStoreAsync(string kind)
    {
        var store = await CreateStoreAsync(kind, Time);
        _stores.Add(store);
        return store;
    }

    private static async Task TryPutAsync(IStore store, string key, string json)
    {
        byte[] payload;
        try
        {
            using var document = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 256 });
            var buffer = new ArrayBufferWriter<byte>();
            store.Serializer.FromJson(buffer, document.RootElement);
            payload = buffer.WrittenMemory.ToArray();
            await store.PutAsync(Collection, key, payload, cancellationToken: Token);
        }
        catch (Exception e) when (e is PersistenceException or ArgumentException or NotSupportedException)
        {
            // A store may refuse a value (the conformance properties check that it then writes nothing).
        }
    }

    private static async Task<Dictionary<string, StoreEntry>> SnapshotAsync(IStore store)
    {
        var entries = new Dictionary<string, StoreEntry>(StringComparer.Ordinal);
        await foreach (var entry in store.ScanAsync(Collection, null, Token))
        {
            entries[entry.Key] = entry;
        }

        return entries;
    }

    private static void AssertSameRecords(string sourceKind, IStore source, Dictionary<string, StoreEntry> expected, string targetKind, IStore target, Dictionary<string, StoreEntry> actual)
    {
        var route = $"{sourceKind} -> {targetKind}";
        var missing = expected.Keys.Where(k => !actual.ContainsKey(k)).Select(PropertyChecks.Readable).ToList();
        Assert.True(missing.Count == 0 && actual.Count == expected.Count, $"{route}: {actual.Count} of {expected.Count} records arrived; missing [{string.Join(", ", missing)}].");
        var float64 = PropertyChecks.NumbersAreFloat64(source.Serializer) || PropertyChecks.NumbersAreFloat64(target.Serializer);
        foreach (var (key, from) in expected)
        {
            var to = actual[key];
            Assert.True(
                from.Version == to.Version && from.CreatedAt == to.CreatedAt && from.UpdatedAt == to.UpdatedAt && from.ExpiresAt == to.ExpiresAt,
                $"{route}: record {PropertyChecks.Readable(key)} arrived as version {to.Version} created {to.CreatedAt:O} updated {to.UpdatedAt:O}, expected version {from.Version} created {from.CreatedAt:O} updated {from.UpdatedAt:O}.");
            if (PropertyChecks.JsonDifference(source.Serializer.ToJson(from.Payload), target.Serializer.ToJson(to.Payload), float64) is { } difference)
            {
                Assert.Fail($"{route}: record {PropertyChecks.Readable(key)} arrived changed: {difference}.");
            }
        }
    }
}
