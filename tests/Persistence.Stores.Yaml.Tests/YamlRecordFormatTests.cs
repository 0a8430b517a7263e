using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Persistence.Backup;
using Persistence.Testing;
using Persistence.Tests;

namespace Persistence.Stores.Yaml.Tests;

/// <summary>The <c>yaml</c> record format: a stream of YAML documents, one per record, through the YAML JSON bridge.</summary>
public sealed class YamlRecordFormatTests : IDisposable
{
    private static readonly RecordFormatRegistry Formats = RecordFormatRegistry.Default.With(YamlRecordFormat.Instance);

    private readonly TempDirectory _root = new();
    private readonly FakeTimeProvider _time = new(StoreConformanceTests.StartTime);

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public void Dispose() => _root.Dispose();

    [Fact]
    public async Task ExportImport_JsonStoreThroughYaml_RoundTripsPayloadBytesAndMetadata()
    {
        await using var source = new InMemoryStore("source", timeProvider: _time);
        await BackupTestData.SeedAsync(source, _time, Token);
        await source.PutAsync("users", "odd", "{ \"spaced\" : [1, 2.50, \"yes\", \"1e3\", null, true] }"u8.ToArray(), cancellationToken: Token);
        await using var target = new InMemoryStore("target", timeProvider: _time);
        var path = _root.Combine("users.yaml");

        var exported = await source.ExportRecordsAsync("users", path, new RecordExportOptions { Format = "yaml", Formats = Formats }, cancellationToken: Token);
        var imported = await target.ImportRecordsAsync("users", path, new RecordImportOptions { Format = "yaml", Formats = Formats, TimeProvider = _time }, cancellationToken: Token);

        Assert.Equal(exported.Records, imported.Created);
        var expected = await EntriesAsync(source, "users");
        var actual = await EntriesAsync(target, "users");
        Assert.Equal(expected.Select(e => (e.Key, Encoding.UTF8.GetString(e.Payload.Span), e.Version, e.CreatedAt, e.UpdatedAt, e.ExpiresAt)), actual.Select(e => (e.Key, Encoding.UTF8.GetString(e.Payload.Span), e.Version, e.CreatedAt, e.UpdatedAt, e.ExpiresAt)));
        var text = await File.ReadAllTextAsync(path, Token);
        Assert.StartsWith("---\nkey: ", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ExportImport_YamlFileStoreThroughYaml_KeepsEveryRecord()
    {
        await using var source = new YamlFileStore(new YamlFileStoreOptions { RootPath = _root.Combine("source") }, "source", _time);
        await BackupTestData.SeedAsync(source, _time, Token);
        await using var target = new YamlFileStore(new YamlFileStoreOptions { RootPath = _root.Combine("target") }, "target", _time);
        using var file = new MemoryStream();

        await source.ExportRecordsAsync("orders", file, new RecordExportOptions { Format = "yaml", Formats = Formats }, cancellationToken: Token);
        file.Position = 0;
        await target.ImportRecordsAsync("orders", file, new RecordImportOptions { Format = "yaml", Formats = Formats, TimeProvider = _time }, cancellationToken: Token);

        Assert.Equal(await BackupTestData.SnapshotAsync(source, Token) is var all ? all.Where(r => r.StartsWith("orders |", StringComparison.Ordinal)) : [], await BackupTestData.SnapshotAsync(target, Token));
    }

    [Fact]
    public async Task ImportRecordsAsync_BareYamlDocumentsWithKeyField_ImportsEachDocument()
    {
        await using var store = new InMemoryStore("s", timeProvider: _time);
        var yaml = "# people\n---\nid: ann\nage: 30\n...\n--- {id: bob, tags: [a, b]}\n---\n# only a comment\n---\nid: 7\nnote: |\n  two\n  lines\n";

        var result = await store.ImportRecordsAsync("people", new MemoryStream(Encoding.UTF8.GetBytes(yaml)), new RecordImportOptions { Format = "yaml", Formats = Formats, KeyField = "id", TimeProvider = _time }, cancellationToken: Token);

        Assert.Equal(3, result.Created);
        Assert.Equal("{\"id\":\"ann\",\"age\":30}", Encoding.UTF8.GetString((await store.GetAsync("people", "ann", Token))!.Payload.Span));
        Assert.Equal("{\"id\":\"bob\",\"tags\":[\"a\",\"b\"]}", Encoding.UTF8.GetString((await store.GetAsync("people", "bob", Token))!.Payload.Span));
        Assert.Equal("{\"id\":7,\"note\":\"two\\nlines\\n\"}", Encoding.UTF8.GetString((await store.GetAsync("people", "7", Token))!.Payload.Span));
    }

    [Fact]
    public async Task ImportRecordsAsync_InvalidYamlDocument_ThrowsNamingItsLineAndWritesNothing()
    {
        await using var store = new InMemoryStore("s", timeProvider: _time);
        var yaml = "---\nid: a\n---\nid: b\n---\nid: [c\nx: : :\n";

        var error = await Assert.ThrowsAsync<RecordFormatException>(() => store.ImportRecordsAsync("c", new MemoryStream(Encoding.UTF8.GetBytes(yaml)), new RecordImportOptions { Format = "yaml", Formats = Formats, KeyField = "id", BatchSize = 1, TimeProvider = _time }, cancellationToken: Token));

        Assert.Equal(5, error.Line);
        Assert.StartsWith("Line 5 of the yaml input", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, await store.CountAsync("c", Token));
    }

    [Fact]
    public void AddYamlRecordFormat_RegistersYamlBesideTheBuiltInFormats()
    {
        var services = new ServiceCollection();
        services.AddPersistence().AddYamlRecordFormat().AddYamlRecordFormat();
        using var provider = services.BuildServiceProvider();

        var formats = provider.GetRequiredService<RecordFormatRegistry>();

        Assert.Equal(["csv", "json", "jsonl", "yaml"], formats.ExportFormats);
        Assert.Equal(["csv", "json", "jsonl", "yaml"], formats.ImportFormats);
        Assert.Same(YamlRecordFormat.Instance, formats.GetImporter("YAML"));
        Assert.Equal("yaml", formats.FormatOfPath("/data/users.yml"));
    }

    private static async Task<List<StoreEntry>> EntriesAsync(IStore store, string collection)
    {
        var entries = new List<StoreEntry>();
        await foreach (var entry in store.ScanAsync(collection, null, Token))
        {
            entries.Add(entry);
        }

        return entries;
    }
}
