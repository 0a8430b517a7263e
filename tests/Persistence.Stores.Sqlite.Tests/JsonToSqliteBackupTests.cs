using Microsoft.Extensions.Time.Testing;
using Persistence.Backup;
using Persistence.Stores.Json;
using Persistence.Testing;

namespace Persistence.Stores.Sqlite.Tests;

/// <summary>
/// Records move from a JSON file store into SQLite stores, through an archive and by direct migration, and every
/// record (key, version, timestamps, document as neutral JSON) arrives, also after the SQLite file is reopened.
/// </summary>
public sealed class JsonToSqliteBackupTests : IDisposable
{
    private readonly TempDirectory _root = new();
    private readonly FakeTimeProvider _time = new(StoreConformanceTests.StartTime);

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task BackupRestore_JsonFileStoreIntoSqlite_RestoresEveryRecord(bool encrypted)
    {
        await using var json = await SeededJsonStoreAsync();
        var key = encrypted ? BackupKey.FromKey(Enumerable.Range(1, 32).Select(i => (byte)i).ToArray()) : null;
        using var archive = new MemoryStream();
        var manifest = await json.BackupAsync(archive, new BackupOptions { Encryption = key, TimeProvider = _time }, null, Token);
        var expected = await BackupTestData.SnapshotAsync(json, Token);

        RestoreResult result;
        await using (var sqlite = OpenSqlite("restored.db"))
        {
            archive.Position = 0;
            result = await StoreBackup.RestoreAsync(archive, sqlite, new RestoreOptions { Decryption = key, TimeProvider = _time }, null, Token);
            Assert.Equal(expected, await BackupTestData.SnapshotAsync(sqlite, Token));
        }

        Assert.True(result.Success);
        Assert.Equal(nameof(JsonFileStore), manifest.StoreKind);
        Assert.Equal(expected.Count, manifest.TotalEntries);
        Assert.Equal(expected.Count, result.RecordsRestored);
        await using var reopened = OpenSqlite("restored.db");
        Assert.Equal(expected, await BackupTestData.SnapshotAsync(reopened, Token));
    }

    [Fact]
    public async Task Migrate_JsonFileStoreIntoSqlite_VerifiesAndKeepsEveryRecord()
    {
        await using var json = await SeededJsonStoreAsync();
        var expected = await BackupTestData.SnapshotAsync(json, Token);

        MigrationReport report;
        await using (var sqlite = OpenSqlite("migrated.db"))
        {
            report = await json.MigrateAsync(sqlite, new MigrationOptions { BatchSize = 8 }, null, Token);
        }

        Assert.True(report.Success, string.Join("; ", report.Errors));
        Assert.True(report.Verified);
        Assert.False(report.Transcoded);
        Assert.Equal(expected.Count, report.EntriesCopied);
        Assert.Equal(BackupTestData.Collections, report.Collections.Select(c => c.Name));
        Assert.All(report.Collections, c => Assert.True(c.Verified));
        await using var reopened = OpenSqlite("migrated.db");
        Assert.Equal(expected, await BackupTestData.SnapshotAsync(reopened, Token));
    }

    [Fact]
    public async Task Migrate_JsonFileStoreIntoSqliteWithOtherSerializer_TranscodesVerifiesAndKeepsEveryRecord()
    {
        await using var json = await SeededJsonStoreAsync();
        var expected = await BackupTestData.SnapshotAsync(json, Token);
        await using var sqlite = OpenSqlite("framed.db", new FramedJsonSerializer());

        var report = await json.MigrateAsync(sqlite, new MigrationOptions { BatchSize = 8 }, null, Token);

        Assert.True(report.Success, string.Join("; ", report.Errors));
        Assert.True(report.Verified);
        Assert.True(report.Transcoded);
        Assert.Equal(expected, await BackupTestData.SnapshotAsync(sqlite, Token));
        var stored = await sqlite.GetAsync("users", "a", Token);
        Assert.NotNull(stored);
        Assert.True(stored.Payload.Span.StartsWith("PJF1"u8));
    }

    public void Dispose() => _root.Dispose();

    private async Task<JsonFileStore> SeededJsonStoreAsync()
    {
        var store = new JsonFileStore(new JsonFileStoreOptions { RootPath = _root.Combine("json") }, "source", _time);
        await BackupTestData.SeedAsync(store, _time, Token);
        return store;
    }

    private SqliteStore OpenSqlite(string file, ISerializer? serializer = null)
        => new(new SqliteStoreOptions { DataSource = _root.Combine(file), Serializer = serializer }, "target", _time);
}
