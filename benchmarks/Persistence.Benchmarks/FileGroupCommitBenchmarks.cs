using System.Text.Json;
using System.Text.Json.Nodes;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Persistence.FileStorage;
using Persistence.Stores.Json;

namespace Persistence.Benchmarks;

/// <summary>
/// Durable puts (<see cref="FileDurability.FlushToDisk"/>) of ~1 KB documents: 16 concurrent writers on
/// <see cref="JsonFileStore"/> with group commit, per layout, beside raw per-call code doing the same durable work for
/// each put (the baseline), and the store with group commit off. Plus one writer alone: the store's put latency (group
/// commit on and off) beside the same raw put.
/// </summary>
/// <remarks>
/// <para>
/// The raw side: for <see cref="FileLayout.FilePerRecord"/>, each put serializes its document, writes a temporary file,
/// flushes it, renames it over the record's file and flushes the directory; the writers run freely (distinct files need no
/// lock, and the kernel overlaps their flushes), and a second row has them take turns. For the collection layouts, each put reads the collection file, parses it, sets its document, and writes the
/// file back the same way (temporary file, flush, rename, directory flush), the writers taking turns on a
/// <see cref="SemaphoreSlim"/>, as per-call code must to lose no update.
/// </para>
/// <para>
/// <c>dotnet benchmarks/Persistence.Benchmarks/bin/Release/net10.0/Persistence.Benchmarks.dll --filter '*FileGroupCommit*' --job short --inProcess</c>.
/// One operation is one put: the concurrent benchmarks report the time per put over all 16 writers.
/// </para>
/// </remarks>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory, BenchmarkLogicalGroupRule.ByParams)]
[CategoriesColumn]
public class FileGroupCommitBenchmarks
{
    private const string Collection = "templates";
    private const int Writers = 16;
    private const int PutsPerWriter = 8;
    private const int Puts = Writers * PutsPerWriter;

    private readonly BenchmarkDocument[] _documents = Enumerable.Range(0, Puts).Select(BenchmarkDocument.Create).ToArray();
    private readonly string[] _keys = Enumerable.Range(0, Puts).Select(i => $"template-{i:D6}").ToArray();
    private readonly JsonSerializerOptions _json = SystemTextJsonSerializer.DefaultOptions;
    private readonly SemaphoreSlim _rawLock = new(1, 1);
    private readonly SemaphoreSlim _turns = new(1, 1);
    private string _root = string.Empty;
    private string _rawDirectory = string.Empty;
    private string _rawCollectionFile = string.Empty;
    private JsonFileStore _store = null!;
    private JsonFileStore _ungrouped = null!;
    private int _next;

    /// <summary>Gets or sets how the stores (and the raw side) spread records over files.</summary>
    [Params(FileLayout.FilePerRecord, FileLayout.FilePerCollection, FileLayout.SingleFile)]
    public FileLayout Layout { get; set; }

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _root = Directory.CreateTempSubdirectory("persistence-file-group-").FullName;
        _rawDirectory = Path.Combine(_root, "raw", Collection);
        Directory.CreateDirectory(_rawDirectory);
        _rawCollectionFile = Path.Combine(_root, "raw", Collection + ".json");
        _store = Open("store", groupCommit: true);
        _ungrouped = Open("ungrouped", groupCommit: false);
        for (var i = 0; i < Puts; i++)
        {
            await _store.PutAsync(Collection, _keys[i], _documents[i]);
            await _ungrouped.PutAsync(Collection, _keys[i], _documents[i]);
            await RawPutAsync(i);
        }
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        // How large the groups were: a put that finds the store idle runs alone, the ones queued behind it form a group.
        Console.WriteLine($"// {Layout}: {_store.GroupsCommitted} groups of {(double)_store.OperationsGrouped / Math.Max(1, _store.GroupsCommitted):0.0} puts on average");
        await _store.DisposeAsync();
        await _ungrouped.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Puts, Description = "raw: 16 writers, one durable write per put")]
    [BenchmarkCategory("Writers16")]
    public Task RawWriters() => RunWritersAsync(RawPutAsync);

    [Benchmark(OperationsPerInvoke = Puts, Description = "raw: 16 writers taking turns, one durable write per put")]
    [BenchmarkCategory("Writers16")]
    public Task RawWritersTakingTurns() => RunWritersAsync(async i =>
    {
        // The collection layouts take turns already; for files per record this is per-call code with one writer at a time.
        if (Layout != FileLayout.FilePerRecord)
        {
            await RawPutAsync(i);
            return;
        }

        await _turns.WaitAsync();
        try
        {
            await RawPutAsync(i);
        }
        finally
        {
            _turns.Release();
        }
    });

    [Benchmark(OperationsPerInvoke = Puts, Description = "JsonFileStore: 16 writers, group commit")]
    [BenchmarkCategory("Writers16")]
    public Task StoreWriters() => RunWritersAsync(async i => await _store.PutAsync(Collection, _keys[i], _documents[i]));

    [Benchmark(OperationsPerInvoke = Puts, Description = "JsonFileStore: 16 writers, group commit off")]
    [BenchmarkCategory("Writers16")]
    public Task UngroupedWriters() => RunWritersAsync(async i => await _ungrouped.PutAsync(Collection, _keys[i], _documents[i]));

    [Benchmark(Baseline = true, Description = "raw: one durable put")]
    [BenchmarkCategory("Single")]
    public Task RawSingle() => RawPutAsync(Next());

    [Benchmark(Description = "JsonFileStore.PutAsync<T>, group commit on")]
    [BenchmarkCategory("Single")]
    public ValueTask<long> StoreSingle()
    {
        var i = Next();
        return _store.PutAsync(Collection, _keys[i], _documents[i]);
    }

    [Benchmark(Description = "JsonFileStore.PutAsync<T>, group commit off")]
    [BenchmarkCategory("Single")]
    public ValueTask<long> UngroupedSingle()
    {
        var i = Next();
        return _ungrouped.PutAsync(Collection, _keys[i], _documents[i]);
    }

    private static Task RunWritersAsync(Func<int, Task> put)
    {
        var writers = new Task[Writers];
        for (var w = 0; w < Writers; w++)
        {
            var writer = w;
            writers[w] = Task.Run(async () =>
            {
                for (var i = 0; i < PutsPerWriter; i++)
                {
                    await put((writer * PutsPerWriter) + i);
                }
            });
        }

        return Task.WhenAll(writers);
    }

    private static async Task WriteDurablyAsync(string path, byte[] bytes)
    {
        var directory = Path.GetDirectoryName(path)!;
        var temp = Path.Combine(directory, $".{Guid.NewGuid():N}.tmp");
        await using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.None))
        {
            await stream.WriteAsync(bytes);
            stream.Flush(flushToDisk: true);
        }

        File.Move(temp, path, overwrite: true);

        // The rename itself must reach the disk too, as the store makes sure of.
        FileOperations.FlushDirectory(directory);
    }

    private JsonFileStore Open(string name, bool groupCommit) => new(new JsonFileStoreOptions
    {
        RootPath = Path.Combine(_root, name),
        Layout = Layout,
        Durability = FileDurability.FlushToDisk,
        GroupCommit = groupCommit,
    });

    private int Next() => _next = (_next + 1) % Puts;

    private async Task RawPutAsync(int i)
    {
        if (Layout == FileLayout.FilePerRecord)
        {
            await WriteDurablyAsync(Path.Combine(_rawDirectory, _keys[i] + ".json"), JsonSerializer.SerializeToUtf8Bytes(_documents[i], _json));
            return;
        }

        await _rawLock.WaitAsync();
        try
        {
            var collection = File.Exists(_rawCollectionFile)
                ? JsonNode.Parse(await File.ReadAllBytesAsync(_rawCollectionFile))!.AsObject()
                : [];
            collection[_keys[i]] = JsonSerializer.SerializeToNode(_documents[i], _json);
            await WriteDurablyAsync(_rawCollectionFile, JsonSerializer.SerializeToUtf8Bytes(collection, _json));
        }
        finally
        {
            _rawLock.Release();
        }
    }
}

/// <summary>
/// One writer alone, <see cref="FileDurability.None"/> so the flushes' spread does not hide the code's: a put with group
/// commit on (the baseline is the same store with it off), per layout. The idle path must be the unchanged one.
/// </summary>
/// <remarks><c>--filter '*FileGroupCommitLatency*' --job short --inProcess</c>.</remarks>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByParams)]
public class FileGroupCommitLatencyBenchmarks
{
    private const string Collection = "templates";
    private const int KeyCount = 64;

    private readonly BenchmarkDocument[] _documents = Enumerable.Range(0, KeyCount).Select(BenchmarkDocument.Create).ToArray();
    private readonly string[] _keys = Enumerable.Range(0, KeyCount).Select(i => $"template-{i:D6}").ToArray();
    private string _root = string.Empty;
    private JsonFileStore _grouped = null!;
    private JsonFileStore _ungrouped = null!;
    private int _next;

    /// <summary>Gets or sets how the stores spread records over files.</summary>
    [Params(FileLayout.FilePerRecord, FileLayout.FilePerCollection, FileLayout.SingleFile)]
    public FileLayout Layout { get; set; }

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _root = Directory.CreateTempSubdirectory("persistence-file-group-latency-").FullName;
        _grouped = Open("grouped", groupCommit: true);
        _ungrouped = Open("ungrouped", groupCommit: false);
        for (var i = 0; i < KeyCount; i++)
        {
            await _grouped.PutAsync(Collection, _keys[i], _documents[i]);
            await _ungrouped.PutAsync(Collection, _keys[i], _documents[i]);
        }
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        await _grouped.DisposeAsync();
        await _ungrouped.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }

    [Benchmark(Baseline = true, Description = "JsonFileStore.PutAsync<T>, group commit off")]
    public ValueTask<long> UngroupedPut()
    {
        var i = Next();
        return _ungrouped.PutAsync(Collection, _keys[i], _documents[i]);
    }

    [Benchmark(Description = "JsonFileStore.PutAsync<T>, group commit on")]
    public ValueTask<long> GroupedPut()
    {
        var i = Next();
        return _grouped.PutAsync(Collection, _keys[i], _documents[i]);
    }

    private JsonFileStore Open(string name, bool groupCommit) => new(new JsonFileStoreOptions
    {
        RootPath = Path.Combine(_root, name),
        Layout = Layout,
        Durability = FileDurability.None,
        GroupCommit = groupCommit,
    });

    private int Next() => _next = (_next + 1) % KeyCount;
}
