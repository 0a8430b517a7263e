using System.Text.Json;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Persistence.Stores.Redis;
using StackExchange.Redis;

namespace Persistence.Benchmarks;

/// <summary>
/// <see cref="RedisStore"/> beside raw StackExchange.Redis doing the equivalent commands on the same local server and the
/// same ~1 KB document: Get (HMGET of the same fields), Put (the same Lua put script by SHA), 1,000-key GetMany
/// (pipelined HMGETs), a 1,000-put CommitAsync (one script; raw: 1,000 pipelined put scripts) and a 1,000-entry
/// ImportAsync (raw: 1,000 pipelined HSET + ZADD).
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class RedisStoreBenchmarks
{
    private const string Collection = "templates";
    private const int KeyCount = 1000;
    private static readonly RedisValue[] Fields = ["data", "version", "created", "updated", "expires"];

    private readonly string[] _keys = Enumerable.Range(0, KeyCount).Select(i => $"template-{i:D6}").ToArray();
    private byte[][] _payloads = [];
    private RedisBenchmarkServer _server = null!;
    private ConnectionMultiplexer _connection = null!;
    private IDatabase _raw = null!;
    private RedisStore _store = null!;
    private RedisKey[] _storeEntryKeys = [];
    private RedisKey[] _rawEntryKeys = [];
    private RedisKey _rawEntryPrefix;
    private RedisKey _rawIndex;
    private RedisKey _rawExpiring;
    private StoreEntry[] _imports = [];
    private int _next;

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _payloads = Enumerable.Range(0, KeyCount).Select(i => JsonSerializer.SerializeToUtf8Bytes(BenchmarkDocument.Create(i), SystemTextJsonSerializer.DefaultOptions)).ToArray();
        _server = RedisBenchmarkServer.Start();
        _connection = await ConnectionMultiplexer.ConnectAsync(_server.Configuration);
        _raw = _connection.GetDatabase();
        _store = new RedisStore(new RedisStoreOptions { Configuration = _server.Configuration, KeyPrefix = "bench-store" });
        _storeEntryKeys = _keys.Select(k => (RedisKey)$"{{bench-store:{Collection}}}:{Collection}:e:{k}").ToArray();
        _rawEntryKeys = _keys.Select(k => (RedisKey)$"{{bench-raw:{Collection}}}:{Collection}:e:{k}").ToArray();
        _rawEntryPrefix = $"{{bench-raw:{Collection}}}:{Collection}:e:";
        _rawIndex = $"{{bench-raw:{Collection}}}:{Collection}:i";
        _rawExpiring = $"{{bench-raw:{Collection}}}:{Collection}:x";
        var now = DateTimeOffset.UnixEpoch.AddYears(56);
        _imports = Enumerable.Range(0, KeyCount).Select(i => new StoreEntry(Collection, _keys[i], _payloads[i], 3, now, now, null)).ToArray();
        for (var i = 0; i < KeyCount; i++)
        {
            await _store.PutAsync(Collection, _keys[i], _payloads[i]);
            await RawPutAsync(i);
        }
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        await _store.DisposeAsync();
        await _connection.DisposeAsync();
        _server.Dispose();
    }

    [Benchmark(Baseline = true, Description = "raw HMGET")]
    [BenchmarkCategory("Get")]
    public async Task<RedisValue[]> RawGet()
    {
        var values = await _raw.HashGetAsync(_rawEntryKeys[Next()], Fields);
        return values[1].IsNull ? throw new InvalidOperationException("missing") : values;
    }

    [Benchmark(Description = "RedisStore.GetAsync")]
    [BenchmarkCategory("Get")]
    public ValueTask<StoreEntry?> StoreGet() => _store.GetAsync(Collection, _keys[Next()]);

    [Benchmark(Baseline = true, Description = "raw EVALSHA put script")]
    [BenchmarkCategory("Put")]
    public Task<RedisResult> RawPut() => RawPutAsync(Next());

    [Benchmark(Description = "RedisStore.PutAsync")]
    [BenchmarkCategory("Put")]
    public ValueTask<long> StorePut()
    {
        var i = Next();
        return _store.PutAsync(Collection, _keys[i], _payloads[i]);
    }

    // The raw code a user would write for the same answer: the entry keys built from the keys asked for, one pipelined
    // HMGET each, and every reply read into a record (payload, version, times), as the store builds its StoreEntry.
    [Benchmark(Baseline = true, Description = "raw 1000 pipelined HMGET")]
    [BenchmarkCategory("GetMany1000")]
    public async Task<RawRecord?[]> RawGetMany()
    {
        var reads = new Task<RedisValue[]>[KeyCount];
        for (var i = 0; i < KeyCount; i++)
        {
            reads[i] = _raw.HashGetAsync(_rawEntryPrefix.Append(_keys[i]), Fields);
        }

        await Task.WhenAll(reads);
        var records = new RawRecord?[KeyCount];
        for (var i = 0; i < KeyCount; i++)
        {
            var values = reads[i].Result;
            records[i] = values[1].IsNull
                ? null
                : new RawRecord(
                    _keys[i],
                    (ReadOnlyMemory<byte>)values[0],
                    (long)values[1],
                    new DateTimeOffset((long)values[2], TimeSpan.Zero),
                    new DateTimeOffset((long)values[3], TimeSpan.Zero),
                    values[4].IsNull ? null : new DateTimeOffset((long)values[4], TimeSpan.Zero));
        }

        return records;
    }

    [Benchmark(Description = "RedisStore.GetManyAsync(1000)")]
    [BenchmarkCategory("GetMany1000")]
    public ValueTask<IReadOnlyList<StoreEntry?>> StoreGetMany() => _store.GetManyAsync(Collection, _keys);

    [Benchmark(Baseline = true, Description = "raw 1000 pipelined put scripts")]
    [BenchmarkCategory("Commit1000")]
    public async Task RawPutMany()
    {
        var writes = new Task<RedisResult>[KeyCount];
        for (var i = 0; i < KeyCount; i++)
        {
            writes[i] = RawPutAsync(i);
        }

        await Task.WhenAll(writes);
    }

    [Benchmark(Description = "RedisStore.CommitAsync(1000 puts)")]
    [BenchmarkCategory("Commit1000")]
    public ValueTask<IReadOnlyList<long>> StoreCommit()
    {
        var batch = new WriteBatch();
        for (var i = 0; i < KeyCount; i++)
        {
            batch.Put(Collection, _keys[i], _payloads[i]);
        }

        return _store.CommitAsync(batch);
    }

    [Benchmark(Baseline = true, Description = "raw 1000 pipelined HSET + ZADD")]
    [BenchmarkCategory("Import1000")]
    public async Task RawImport()
    {
        var writes = new Task[KeyCount * 2];
        for (var i = 0; i < KeyCount; i++)
        {
            var entry = _imports[i];
            writes[i * 2] = _raw.HashSetAsync(_rawEntryKeys[i], [new("data", entry.Payload), new("version", entry.Version), new("created", entry.CreatedAt.UtcTicks), new("updated", entry.UpdatedAt.UtcTicks)]);
            writes[(i * 2) + 1] = _raw.SortedSetAddAsync(_rawIndex, entry.Key, 0);
        }

        await Task.WhenAll(writes);
    }

    [Benchmark(Description = "RedisStore.ImportAsync(1000)")]
    [BenchmarkCategory("Import1000")]
    public ValueTask<ImportResult> StoreImport() => _store.ImportAsync(_imports, ImportMode.Overwrite);

    private int Next() => _next = (_next + 1) % KeyCount;

    private Task<RedisResult> RawPutAsync(int i)
        => _raw.ScriptEvaluateAsync(
            RedisScripts.Put.Hash,
            [_rawEntryKeys[i], _rawIndex, _rawExpiring],
            [_keys[i], _payloads[i], RedisValue.EmptyString, DateTimeOffset.UtcNow.UtcTicks, RedisValue.EmptyString, RedisValue.EmptyString, RedisValue.EmptyString]);
}

/// <summary>What the raw GetMany baseline reads for one key: the same values a <see cref="StoreEntry"/> holds.</summary>
public sealed record RawRecord(string Key, ReadOnlyMemory<byte> Payload, long Version, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, DateTimeOffset? ExpiresAt);
