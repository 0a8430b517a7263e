using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Microsoft.Data.Sqlite;
using Persistence.Stores.Sqlite;
using JsonSerializer = System.Text.Json.JsonSerializer;

namespace Persistence.Benchmarks;

/// <summary>
/// Durable puts (<c>synchronous = FULL</c>) of ~1 KB documents: 16 concurrent writers on <see cref="SqliteStore"/> with
/// group commit, beside the raw driver doing one durable transaction per put (the store's upsert, prepared on one
/// connection with the store's PRAGMAs, the writers taking turns on it, as per-call code would; the baseline), and the
/// store with group commit off. Plus one writer alone: the store's put latency beside the same raw put.
/// </summary>
/// <remarks>
/// <c>dotnet run -c Release --project benchmarks/Persistence.Benchmarks -- --filter '*SqliteGroupCommit*' --job short</c>.
/// One operation is one put: the concurrent benchmarks report the time per put over all 16 writers.
/// </remarks>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class SqliteGroupCommitBenchmarks
{
    private const string Collection = "templates";
    private const int Writers = 16;
    private const int PutsPerWriter = 8;
    private const int Puts = Writers * PutsPerWriter;

    private readonly BenchmarkDocument[] _documents = Enumerable.Range(0, Puts).Select(BenchmarkDocument.Create).ToArray();
    private readonly string[] _keys = Enumerable.Range(0, Puts).Select(i => $"template-{i:D6}").ToArray();
    private readonly SemaphoreSlim _rawLock = new(1, 1);
    private string _root = string.Empty;
    private SqliteStore _store = null!;
    private SqliteStore _ungrouped = null!;
    private RawSqlite _raw = null!;
    private int _next;

    /// <summary>Gets or sets the journal mode of every database: the store's default (WAL) and SQLite's own (DELETE).</summary>
    [Params(SqliteJournalMode.Wal, SqliteJournalMode.Delete)]
    public SqliteJournalMode JournalMode { get; set; }

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _root = Directory.CreateTempSubdirectory("persistence-sqlite-group-").FullName;
        _store = Open("store.db", groupCommit: true);
        _ungrouped = Open("ungrouped.db", groupCommit: false);
        _raw = RawSqlite.Open(Path.Combine(_root, "raw.db"), JournalMode, SqliteStoreBenchmarks.StorePragmas.Replace("synchronous = NORMAL", "synchronous = FULL", StringComparison.Ordinal));
        for (var i = 0; i < Puts; i++)
        {
            await _store.PutAsync(Collection, _keys[i], _documents[i]);
            await _ungrouped.PutAsync(Collection, _keys[i], _documents[i]);
            RawPut(i);
        }
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        await _store.DisposeAsync();
        await _ungrouped.DisposeAsync();
        _raw.Dispose();
        SqliteConnection.ClearAllPools();
        Directory.Delete(_root, recursive: true);
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Puts, Description = "raw: 16 writers, one durable transaction per put")]
    [BenchmarkCategory("Writers16")]
    public Task RawWriters() => RunWritersAsync(async i =>
    {
        await _rawLock.WaitAsync();
        try
        {
            RawPut(i);
        }
        finally
        {
            _rawLock.Release();
        }
    });

    [Benchmark(OperationsPerInvoke = Puts, Description = "SqliteStore: 16 writers, group commit")]
    [BenchmarkCategory("Writers16")]
    public Task StoreWriters() => RunWritersAsync(async i => await _store.PutAsync(Collection, _keys[i], _documents[i]));

    [Benchmark(OperationsPerInvoke = Puts, Description = "SqliteStore: 16 writers, group commit off")]
    [BenchmarkCategory("Writers16")]
    public Task UngroupedWriters() => RunWritersAsync(async i => await _ungrouped.PutAsync(Collection, _keys[i], _documents[i]));

    [Benchmark(Baseline = true, Description = "raw: one durable put")]
    [BenchmarkCategory("Single")]
    public long RawSingle() => RawPut(Next());

    [Benchmark(Description = "SqliteStore.PutAsync<T>, group commit on")]
    [BenchmarkCategory("Single")]
    public ValueTask<long> StoreSingle()
    {
        var i = Next();
        return _store.PutAsync(Collection, _keys[i], _documents[i]);
    }

    private SqliteStore Open(string file, bool groupCommit) => new(new SqliteStoreOptions
    {
        DataSource = Path.Combine(_root, file),
        JournalMode = JournalMode,
        Synchronous = SqliteSynchronousMode.Full,
        GroupCommit = groupCommit,
    });

    private int Next() => _next = (_next + 1) % Puts;

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

    private long RawPut(int i)
        => _raw.ExecutePut(Collection, _keys[i], JsonSerializer.SerializeToUtf8Bytes(_documents[i], SystemTextJsonSerializer.DefaultOptions), DateTimeOffset.UtcNow.UtcTicks);
}
