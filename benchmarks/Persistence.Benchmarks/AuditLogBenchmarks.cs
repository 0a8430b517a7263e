using System.Text.Json;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Persistence.Stores.Sqlite;

namespace Persistence.Benchmarks;

/// <summary>
/// The cost of the audit log on a put of a ~1 KB document: the bare store's <c>PutAsync</c> (baseline) beside the same
/// put through an <see cref="AuditingStore"/>, which reads the current version, then commits the put and its audit
/// record in one batch; once more with the payload's SHA-256. On <see cref="InMemoryStore"/> and <see cref="SqliteStore"/>.
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class AuditLogBenchmarks
{
    private const string Collection = "templates";
    private const int KeyCount = 64;

    private readonly string[] _keys = Enumerable.Range(0, KeyCount).Select(i => $"template-{i:D6}").ToArray();
    private byte[][] _payloads = [];
    private string _root = string.Empty;
    private InMemoryStore _memory = null!;
    private AuditingStore _memoryAudited = null!;
    private AuditingStore _memoryHashed = null!;
    private SqliteStore _sqlite = null!;
    private AuditingStore _sqliteAudited = null!;
    private AuditingStore _sqliteHashed = null!;
    private int _next;

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _payloads = Enumerable.Range(0, KeyCount)
            .Select(i => JsonSerializer.SerializeToUtf8Bytes(BenchmarkDocument.Create(i), SystemTextJsonSerializer.DefaultOptions))
            .ToArray();
        _root = Directory.CreateTempSubdirectory("persistence-audit-bench-").FullName;
        _memory = new InMemoryStore("bench");
        _memoryAudited = new AuditingStore(_memory);
        _memoryHashed = new AuditingStore(_memory, new AuditLogOptions { HashPayloads = true });
        _sqlite = new SqliteStore(new SqliteStoreOptions { DataSource = Path.Combine(_root, "store.db") });
        _sqliteAudited = new AuditingStore(_sqlite);
        _sqliteHashed = new AuditingStore(_sqlite, new AuditLogOptions { HashPayloads = true });
        for (var i = 0; i < KeyCount; i++)
        {
            await _memory.PutAsync(Collection, _keys[i], _payloads[i]);
            await _sqlite.PutAsync(Collection, _keys[i], _payloads[i]);
        }
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        await _memory.DisposeAsync();
        await _sqlite.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }

    [Benchmark(Baseline = true), BenchmarkCategory("InMemory")]
    public ValueTask<long> InMemory_Put() => Put(_memory);

    [Benchmark, BenchmarkCategory("InMemory")]
    public ValueTask<long> InMemory_Put_Audited() => Put(_memoryAudited);

    [Benchmark, BenchmarkCategory("InMemory")]
    public ValueTask<long> InMemory_Put_AuditedHashed() => Put(_memoryHashed);

    [Benchmark(Baseline = true), BenchmarkCategory("Sqlite")]
    public ValueTask<long> Sqlite_Put() => Put(_sqlite);

    [Benchmark, BenchmarkCategory("Sqlite")]
    public ValueTask<long> Sqlite_Put_Audited() => Put(_sqliteAudited);

    [Benchmark, BenchmarkCategory("Sqlite")]
    public ValueTask<long> Sqlite_Put_AuditedHashed() => Put(_sqliteHashed);

    private ValueTask<long> Put(IStore store)
    {
        var i = _next++ % KeyCount;
        return store.PutAsync(Collection, _keys[i], _payloads[i]);
    }
}
