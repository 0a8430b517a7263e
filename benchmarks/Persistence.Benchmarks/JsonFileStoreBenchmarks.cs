using System.Text.Json;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Persistence.FileStorage;
using Persistence.Stores.Json;

namespace Persistence.Benchmarks;

/// <summary>
/// <see cref="JsonFileStore"/> Put and Get of a ~1 KB document beside the same work done by hand with System.Text.Json
/// (serialize, temp file, flush, rename, flush the directory; read, deserialize), with the same durability on both sides.
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class JsonFileStoreBenchmarks
{
    private const string Collection = "templates";
    private const int KeyCount = 64;

    private readonly BenchmarkDocument[] _documents = Enumerable.Range(0, KeyCount).Select(BenchmarkDocument.Create).ToArray();
    private readonly string[] _keys = Enumerable.Range(0, KeyCount).Select(i => $"template-{i:D6}").ToArray();
    private readonly JsonSerializerOptions _json = SystemTextJsonSerializer.DefaultOptions;
    private string _root = string.Empty;
    private string _rawDirectory = string.Empty;
    private JsonFileStore _store = null!;
    private int _next;

    /// <summary>Gets or sets whether writes are flushed to disk (the store's default) or left to the OS.</summary>
    [Params(FileDurability.FlushToDisk, FileDurability.None)]
    public FileDurability Durability { get; set; }

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _root = Directory.CreateTempSubdirectory("persistence-bench-").FullName;
        _rawDirectory = Path.Combine(_root, "raw");
        Directory.CreateDirectory(_rawDirectory);
        _store = new JsonFileStore(new JsonFileStoreOptions { RootPath = Path.Combine(_root, "store"), Durability = Durability });
        for (var i = 0; i < KeyCount; i++)
        {
            await _store.PutAsync(Collection, _keys[i], _documents[i]);
            await RawPutAsync(i);
        }
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        await _store.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }

    [Benchmark(Baseline = true, Description = "raw STJ + temp file + rename")]
    [BenchmarkCategory("Put")]
    public Task RawPut() => RawPutAsync(Next());

    [Benchmark(Description = "JsonFileStore.PutAsync<T>")]
    [BenchmarkCategory("Put")]
    public ValueTask<long> StorePut()
    {
        var i = Next();
        return _store.PutAsync(Collection, _keys[i], _documents[i]);
    }

    [Benchmark(Baseline = true, Description = "raw read + STJ")]
    [BenchmarkCategory("Get")]
    public async Task<BenchmarkDocument?> RawGet()
    {
        var bytes = await File.ReadAllBytesAsync(Path.Combine(_rawDirectory, _keys[Next()] + ".json"));
        return JsonSerializer.Deserialize<BenchmarkDocument>(bytes, _json);
    }

    [Benchmark(Description = "JsonFileStore.GetAsync<T>")]
    [BenchmarkCategory("Get")]
    public ValueTask<BenchmarkDocument?> StoreGet() => _store.GetAsync<BenchmarkDocument>(Collection, _keys[Next()]);

    private int Next() => _next = (_next + 1) % KeyCount;

    private async Task RawPutAsync(int i)
    {
        var path = Path.Combine(_rawDirectory, _keys[i] + ".json");
        var temp = Path.Combine(_rawDirectory, $".{Guid.NewGuid():N}.tmp");
        var bytes = JsonSerializer.SerializeToUtf8Bytes(_documents[i], _json);
        await using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.None))
        {
            await stream.WriteAsync(bytes);
            if (Durability == FileDurability.FlushToDisk)
            {
                stream.Flush(flushToDisk: true);
            }
        }

        File.Move(temp, path, overwrite: true);
        if (Durability == FileDurability.FlushToDisk)
        {
            // The rename itself must reach the disk too, as the store makes sure of.
            FileOperations.FlushDirectory(_rawDirectory);
        }
    }
}
