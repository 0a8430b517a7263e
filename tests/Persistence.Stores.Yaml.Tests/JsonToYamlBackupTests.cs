using Microsoft.Extensions.Time.Testing;
using Persistence.Backup;
using Persistence.Stores.Json;
using Persistence.Testing;

namespace Persistence.Stores.Yaml.Tests;

/// <summary>
/// Records move from a JSON file store into YAML file stores through an archive and by direct migration: documents are
/// transcoded to YAML and every record (key, version, timestamps, document as neutral JSON) arrives, also after the
/// YAML store is reopened from its files.
/// </summary>
public sealed class JsonToYamlBackupTests : IDisposable
{
    private readonly TempDirectory _root = new();
    private readonly FakeTimeProvider _time = new(StoreConformanceTests.StartTime);

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task BackupRestore_JsonFileStoreIntoYamlFileStore_RestoresEveryRecordAsYaml()
    {
        await using var json = await SeededJsonStoreAsync();
        using var archive = new MemoryStream();
        var manifest = await json.BackupAsync(archive, new BackupOptions { Compression = BackupCompression.Brotli, TimeProvider = _time }, null, Token);
        var expected = await BackupTestData.SnapshotAsync(json, Token);

        RestoreResult result;
        await using (var yaml = OpenYaml("restored"))
        {
            archive.Position = 0;
            result = await StoreBackup.RestoreAsync(archive, yaml, new RestoreOptions { BatchSize = 7, TimeProvider = _time }, null, Token);
            Assert.Equal(expected, await BackupTestData.SnapshotAsync(yaml, Token));
        }

        Assert.True(result.Success);
        Assert.Equal("json", manifest.SerializerFormat);
        Assert.Equal(expected.Count, result.RecordsRestored);
        AssertYamlFiles("restored");
        await using var reopened = OpenYaml("restored");
        Assert.Equal(expected, await BackupTestData.SnapshotAsync(reopened, Token));
    }

    [Fact]
    public async Task Migrate_JsonFileStoreIntoYamlFileStore_TranscodesVerifiesAndKeepsEveryRecord()
    {
        await using var json = await SeededJsonStoreAsync();
        var expected = await BackupTestData.SnapshotAsync(json, Token);

        MigrationReport report;
        await using (var yaml = OpenYaml("migrated"))
        {
            report = await json.MigrateAsync(yaml, new MigrationOptions { BatchSize = 8 }, null, Token);
        }

        Assert.True(report.Success, string.Join("; ", report.Errors));
        Assert.True(report.Verified);
        Assert.True(report.Transcoded);
        Assert.Equal(expected.Count, report.EntriesCopied);
        AssertYamlFiles("migrated");
        await using var reopened = OpenYaml("migrated");
        Assert.Equal(expected, await BackupTestData.SnapshotAsync(reopened, Token));
    }

    [Fact]
    public async Task Migrate_JsonRecordsYamlCannotHold_FailsBeforeWritingNamingThemOrSkipsThemOnRequest()
    {
        await using var json = await SeededJsonStoreAsync();
        await json.PutAsync("orders", "binary", new byte[] { 0x00, 0xFF, 0xFE, 0x7B }, cancellationToken: Token);
        await json.PutAsync("orders", "lone-surrogate", "{\"text\":\"emoji \\ud83d\"}"u8.ToArray(), cancellationToken: Token);
        var reported = new List<StoreCorruptedException>();

        MigrationReport refused;
        MigrationReport skipping;
        await using (var yaml = OpenYaml("refused"))
        {
            refused = await json.MigrateAsync(yaml, new MigrationOptions { Mode = ImportMode.Overwrite }, null, Token);
            Assert.Equal(0, await yaml.CountAsync("orders", Token));
        }

        await using (var yaml = OpenYaml("skipping"))
        {
            skipping = await json.MigrateAsync(yaml, new MigrationOptions { OnUnreadableEntry = reported.Add }, null, Token);
            Assert.Null(await yaml.GetAsync("orders", "binary", Token));
            Assert.NotNull(await yaml.GetAsync("orders", "array", Token));
        }

        Assert.False(refused.Success);
        Assert.Equal(0, refused.EntriesCopied);
        Assert.Equal(["binary", "lone-surrogate"], refused.Unreadable.Select(u => u.Key));
        Assert.Contains(refused.Errors, e => e.Contains("'orders/binary'", StringComparison.Ordinal));
        Assert.Contains(refused.Errors, e => e.Contains("'orders/lone-surrogate'", StringComparison.Ordinal));
        Assert.True(skipping.Success, string.Join("; ", skipping.Errors));
        Assert.True(skipping.Verified);
        Assert.Equal(["binary", "lone-surrogate"], skipping.Unreadable.Select(u => u.Key));
        Assert.Equal(["binary", "lone-surrogate"], reported.Select(e => e.Key));
    }

    [Fact]
    public async Task Restore_BinaryPayloadIntoYaml_FailsBeforeWritingNamingIt()
    {
        await using var json = await SeededJsonStoreAsync();
        await json.PutAsync("orders", "binary", new byte[] { 0x00, 0xFF, 0xFE, 0x7B }, cancellationToken: Token);
        using var archive = new MemoryStream();
        await json.BackupAsync(archive, new BackupOptions { TimeProvider = _time }, null, Token);
        await using var yaml = OpenYaml("restore-refused");

        archive.Position = 0;
        var error = await Assert.ThrowsAsync<PersistenceException>(() => StoreBackup.RestoreAsync(archive, yaml, new RestoreOptions { TimeProvider = _time }, null, Token));

        Assert.Contains("'orders/binary'", error.Message, StringComparison.Ordinal);
        Assert.Contains("nothing was written", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, await yaml.CountAsync("orders", Token));
    }

    public void Dispose() => _root.Dispose();

    private async Task<JsonFileStore> SeededJsonStoreAsync()
    {
        var store = new JsonFileStore(new JsonFileStoreOptions { RootPath = _root.Combine("json") }, "source", _time);
        await BackupTestData.SeedAsync(store, _time, Token);
        return store;
    }

    private YamlFileStore OpenYaml(string directory)
        => new(new YamlFileStoreOptions { RootPath = _root.Combine(directory) }, "target", _time);

    // The restored records are YAML files on disk, not JSON copied as it was.
    private void AssertYamlFiles(string directory)
    {
        var files = Directory.EnumerateFiles(_root.Combine(directory), "*", SearchOption.AllDirectories).Where(f => !Path.GetFileName(f).StartsWith('.')).ToList();
        Assert.Contains(files, f => f.EndsWith(".yaml", StringComparison.Ordinal));
        Assert.DoesNotContain(files, f => f.EndsWith(".json", StringComparison.Ordinal));
    }
}
