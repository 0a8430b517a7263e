using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using MessagePack;
using Persistence.FileStorage;
using Persistence.Serializers.MessagePack;
using Persistence.Stores.Json;
using Persistence.Stores.Yaml;

namespace Persistence.Benchmarks;

/// <summary>
/// Put and Get of the ~1 KB document through a <see cref="JsonFileStore"/> (FilePerRecord, no flush to disk so the
/// serializer's share shows) with each serializer, the default JSON serializer as the baseline.
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class FileStoreSerializerBenchmarks
{
    private const string Collection = "templates";
    private const int KeyCount = 64;

    private readonly BenchmarkDocument[] _documents = Enumerable.Range(0, KeyCount).Select(BenchmarkDocument.Create).ToArray();
    private readonly string[] _keys = Enumerable.Range(0, KeyCount).Select(i => $"template-{i:D6}").ToArray();
    private readonly Dictionary<string, JsonFileStore> _stores = [];
    private string _root = string.Empty;
    private int _next;

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _root = Directory.CreateTempSubdirectory("persistence-bench-serializers-").FullName;
        await AddAsync("json", SystemTextJsonSerializer.Default);
        await AddAsync("yaml", YamlSerializer.Default);
        await AddAsync("msgpack", MessagePackPayloadSerializer.Default);
        await AddAsync("msgpack-lz4", new MessagePackPayloadSerializer(MessagePackCompression.Lz4BlockArray));
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        foreach (var store in _stores.Values)
        {
            await store.DisposeAsync();
        }

        Directory.Delete(_root, recursive: true);
    }

    [Benchmark(Baseline = true, Description = "Put json")]
    [BenchmarkCategory("Put")]
    public ValueTask<long> PutJson() => Put("json");

    [Benchmark(Description = "Put yaml")]
    [BenchmarkCategory("Put")]
    public ValueTask<long> PutYaml() => Put("yaml");

    [Benchmark(Description = "Put msgpack")]
    [BenchmarkCategory("Put")]
    public ValueTask<long> PutMessagePack() => Put("msgpack");

    [Benchmark(Description = "Put msgpack+lz4")]
    [BenchmarkCategory("Put")]
    public ValueTask<long> PutMessagePackLz4() => Put("msgpack-lz4");

    [Benchmark(Baseline = true, Description = "Get json")]
    [BenchmarkCategory("Get")]
    public ValueTask<BenchmarkDocument?> GetJson() => Get("json");

    [Benchmark(Description = "Get yaml")]
    [BenchmarkCategory("Get")]
    public ValueTask<BenchmarkDocument?> GetYaml() => Get("yaml");

    [Benchmark(Description = "Get msgpack")]
    [BenchmarkCategory("Get")]
    public ValueTask<BenchmarkDocument?> GetMessagePack() => Get("msgpack");

    [Benchmark(Description = "Get msgpack+lz4")]
    [BenchmarkCategory("Get")]
    public ValueTask<BenchmarkDocument?> GetMessagePackLz4() => Get("msgpack-lz4");

    private ValueTask<long> Put(string name)
    {
        var i = Next();
        return _stores[name].PutAsync(Collection, _keys[i], _documents[i]);
    }

    private ValueTask<BenchmarkDocument?> Get(string name) => _stores[name].GetAsync<BenchmarkDocument>(Collection, _keys[Next()]);

    private int Next() => _next = (_next + 1) % KeyCount;

    private async Task AddAsync(string name, ISerializer serializer)
    {
        var store = new JsonFileStore(new JsonFileStoreOptions { RootPath = Path.Combine(_root, name), Durability = FileDurability.None, Serializer = serializer });
        _stores.Add(name, store);
        for (var i = 0; i < KeyCount; i++)
        {
            await store.PutAsync(Collection, _keys[i], _documents[i]);
        }
    }
}
