using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Persistence.Caching;
using Persistence.Diagnostics;
using Persistence.Stores.Json;
using Persistence.Stores.Sqlite;

namespace Persistence.Benchmarks;

/// <summary>
/// A cache hit of <see cref="CachingStore"/> beside the uncached read of the same ~1 KB record from the store it wraps
/// (the baseline), on the JSON file store and on the SQLite store. Byte-level <c>GetAsync</c> on both sides, so the
/// difference is the read the cache saves. Target: a hit at least 20× faster (ratio ≤ 0.05).
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByParams)]
public class CachingBenchmarks
{
    private const string Collection = "templates";
    private const int KeyCount = 64;

    private readonly string[] _keys = Enumerable.Range(0, KeyCount).Select(i => $"template-{i:D6}").ToArray();
    private string _root = string.Empty;
    private IStore _store = null!;
    private CachingStore _cached = null!;
    private int _next;

    /// <summary>Gets or sets the store behind the cache.</summary>
    [Params("json", "sqlite")]
    public string Store { get; set; } = "json";

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _root = Directory.CreateTempSubdirectory("persistence-cache-bench-").FullName;
        _store = Store == "json"
            ? new JsonFileStore(new JsonFileStoreOptions { RootPath = Path.Combine(_root, "json") })
            : new SqliteStore(new SqliteStoreOptions { DataSource = Path.Combine(_root, "store.db") });
        _cached = new CachingStore(_store);
        for (var i = 0; i < KeyCount; i++)
        {
            await _store.PutAsync(Collection, _keys[i], BenchmarkDocument.Create(i));
            _ = await _cached.GetAsync(Collection, _keys[i]); // warm: every benchmarked read is a hit
        }
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        await _cached.DisposeAsync(); // disposes the store too
        Directory.Delete(_root, recursive: true);
    }

    [Benchmark(Baseline = true, Description = "uncached GetAsync")]
    public ValueTask<StoreEntry?> UncachedGet() => _store.GetAsync(Collection, _keys[Next()]);

    [Benchmark(Description = "CachingStore.GetAsync (hit)")]
    public ValueTask<StoreEntry?> CachedGet() => _cached.GetAsync(Collection, _keys[Next()]);

    private int Next() => _next = (_next + 1) % KeyCount;
}

/// <summary>
/// The instrumentation decorator that <c>AddStore</c> puts around every store, with no meter or activity listener
/// attached, beside the bare <see cref="InMemoryStore"/> (the baseline), so the decorator's own cost is not hidden behind
/// I/O. Target: overhead ≤ 5% (ratio ≤ 1.05).
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class InstrumentationBenchmarks
{
    private const string Collection = "templates";
    private const int KeyCount = 64;

    private readonly string[] _keys = Enumerable.Range(0, KeyCount).Select(i => $"template-{i:D6}").ToArray();
    private readonly ReadOnlyMemory<byte>[] _payloads = new ReadOnlyMemory<byte>[KeyCount];
    private InMemoryStore _bare = null!;
    private InstrumentedStore _instrumented = null!;
    private int _next;

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _bare = new InMemoryStore("bare");
        _instrumented = new InstrumentedStore(new InMemoryStore("instrumented"));
        for (var i = 0; i < KeyCount; i++)
        {
            var buffer = new System.Buffers.ArrayBufferWriter<byte>();
            _bare.Serializer.Serialize(buffer, BenchmarkDocument.Create(i));
            _payloads[i] = buffer.WrittenMemory;
            await _bare.PutAsync(Collection, _keys[i], _payloads[i]);
            await _instrumented.PutAsync(Collection, _keys[i], _payloads[i]);
        }
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        await _bare.DisposeAsync();
        await _instrumented.DisposeAsync();
    }

    [Benchmark(Baseline = true, Description = "InMemoryStore.GetAsync")]
    [BenchmarkCategory("Get")]
    public ValueTask<StoreEntry?> BareGet() => _bare.GetAsync(Collection, _keys[Next()]);

    [Benchmark(Description = "instrumented GetAsync")]
    [BenchmarkCategory("Get")]
    public ValueTask<StoreEntry?> InstrumentedGet() => _instrumented.GetAsync(Collection, _keys[Next()]);

    [Benchmark(Baseline = true, Description = "InMemoryStore.PutAsync")]
    [BenchmarkCategory("Put")]
    public ValueTask<long> BarePut()
    {
        var i = Next();
        return _bare.PutAsync(Collection, _keys[i], _payloads[i]);
    }

    [Benchmark(Description = "instrumented PutAsync")]
    [BenchmarkCategory("Put")]
    public ValueTask<long> InstrumentedPut()
    {
        var i = Next();
        return _instrumented.PutAsync(Collection, _keys[i], _payloads[i]);
    }

    private int Next() => _next = (_next + 1) % KeyCount;
}
