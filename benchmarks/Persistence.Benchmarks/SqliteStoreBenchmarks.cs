using System.Text.Json;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using LiteDB;
using JsonSerializer = System.Text.Json.JsonSerializer;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Persistence.Stores.Sqlite;

namespace Persistence.Benchmarks;

/// <summary>
/// <see cref="SqliteStore"/> Get and Put of a ~1 KB document beside raw Microsoft.Data.Sqlite prepared statements doing
/// the same SQL on the same schema with the same PRAGMAs (the baseline), the raw driver with its default PRAGMAs, EF Core
/// (find/update/SaveChanges; AsNoTracking read) and LiteDB (upsert/FindById).
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class SqliteStoreBenchmarks
{
    private const string Collection = "templates";
    private const int KeyCount = 64;

    // The store's own statements (SqliteStore.GetSql and UpsertSql), so the baseline does exactly the same SQL work.
    internal const string GetSql = "SELECT payload, version, created_at, updated_at, expires_at FROM entries WHERE collection = $c AND key = $k AND (expires_at IS NULL OR expires_at > $now)";
    internal const string PutSql = """
        INSERT INTO entries (collection, key, payload, version, created_at, updated_at, expires_at, json)
        VALUES ($c, $k, $p, 1, $now, $now, $exp, $json)
        ON CONFLICT (collection, key) DO UPDATE SET
            payload = excluded.payload,
            version = CASE WHEN entries.expires_at IS NOT NULL AND entries.expires_at <= excluded.updated_at THEN 1 ELSE entries.version + 1 END,
            created_at = CASE WHEN entries.expires_at IS NOT NULL AND entries.expires_at <= excluded.updated_at THEN excluded.created_at ELSE entries.created_at END,
            updated_at = excluded.updated_at,
            expires_at = excluded.expires_at,
            json = excluded.json
        RETURNING version
        """;

    private readonly BenchmarkDocument[] _documents = Enumerable.Range(0, KeyCount).Select(BenchmarkDocument.Create).ToArray();
    private readonly string[] _keys = Enumerable.Range(0, KeyCount).Select(i => $"template-{i:D6}").ToArray();
    private readonly JsonSerializerOptions _json = SystemTextJsonSerializer.DefaultOptions;
    private string _root = string.Empty;
    private SqliteStore _store = null!;
    private RawSqlite _raw = null!;
    private RawSqlite _rawDefaults = null!;
    private SqliteConnection _efConnection = null!;
    private BenchmarkDbContext _ef = null!;
    private LiteDatabase _lite = null!;
    private ILiteCollection<LiteRecord> _liteRecords = null!;
    private int _next;

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _root = Directory.CreateTempSubdirectory("persistence-sqlite-bench-").FullName;
        _store = new SqliteStore(new SqliteStoreOptions { DataSource = Path.Combine(_root, "store.db") });
        _raw = RawSqlite.Open(Path.Combine(_root, "raw.db"), SqliteJournalMode.Wal, StorePragmas);
        _rawDefaults = RawSqlite.Open(Path.Combine(_root, "raw-defaults.db"), SqliteJournalMode.Delete, pragmas: null);

        _efConnection = new SqliteConnection($"Data Source={Path.Combine(_root, "ef.db")};Pooling=False");
        _efConnection.Open();
        RawSqlite.Execute(_efConnection, "PRAGMA journal_mode = WAL; " + StorePragmas);
        _ef = new BenchmarkDbContext(_efConnection);
        await _ef.Database.EnsureCreatedAsync();

        _lite = new LiteDatabase(new ConnectionString { Filename = Path.Combine(_root, "lite.db"), Connection = ConnectionType.Direct });
        _liteRecords = _lite.GetCollection<LiteRecord>("templates");

        for (var i = 0; i < KeyCount; i++)
        {
            await _store.PutAsync(Collection, _keys[i], _documents[i]);
            RawPut(_raw, i);
            RawPut(_rawDefaults, i);
            await EfPutAsync(i);
            LitePut(i);
        }
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        await _store.DisposeAsync();
        _raw.Dispose();
        _rawDefaults.Dispose();
        await _ef.DisposeAsync();
        await _efConnection.DisposeAsync();
        _lite.Dispose();
        SqliteConnection.ClearAllPools();
        Directory.Delete(_root, recursive: true);
    }

    internal static string StorePragmas => "PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 30000; PRAGMA cache_size = -16384; PRAGMA mmap_size = 268435456; PRAGMA temp_store = MEMORY";

    [Benchmark(Baseline = true, Description = "raw prepared SELECT + STJ (same PRAGMAs)")]
    [BenchmarkCategory("Get")]
    public BenchmarkDocument? RawGet() => RawGet(_raw);

    [Benchmark(Description = "SqliteStore.GetAsync<T>")]
    [BenchmarkCategory("Get")]
    public ValueTask<BenchmarkDocument?> StoreGet() => _store.GetAsync<BenchmarkDocument>(Collection, _keys[Next()]);

    [Benchmark(Description = "raw prepared SELECT + STJ (driver default PRAGMAs)")]
    [BenchmarkCategory("Get")]
    public BenchmarkDocument? RawDefaultsGet() => RawGet(_rawDefaults);

    [Benchmark(Description = "EF Core AsNoTracking + STJ")]
    [BenchmarkCategory("Get")]
    public async Task<BenchmarkDocument?> EfGet()
    {
        var key = _keys[Next()];
        var row = await _ef.Templates.AsNoTracking().FirstOrDefaultAsync(t => t.Key == key);
        return row is null ? null : JsonSerializer.Deserialize<BenchmarkDocument>(row.Payload, _json);
    }

    [Benchmark(Description = "LiteDB FindById + STJ")]
    [BenchmarkCategory("Get")]
    public BenchmarkDocument? LiteGet()
    {
        var record = _liteRecords.FindById(_keys[Next()]);
        return record is null ? null : JsonSerializer.Deserialize<BenchmarkDocument>(record.Payload, _json);
    }

    [Benchmark(Baseline = true, Description = "raw prepared upsert + STJ (same PRAGMAs)")]
    [BenchmarkCategory("Put")]
    public long RawPut() => RawPut(_raw, Next());

    [Benchmark(Description = "SqliteStore.PutAsync<T>")]
    [BenchmarkCategory("Put")]
    public ValueTask<long> StorePut()
    {
        var i = Next();
        return _store.PutAsync(Collection, _keys[i], _documents[i]);
    }

    [Benchmark(Description = "raw prepared upsert + STJ (driver default PRAGMAs)")]
    [BenchmarkCategory("Put")]
    public long RawDefaultsPut() => RawPut(_rawDefaults, Next());

    [Benchmark(Description = "EF Core Find + update + SaveChanges")]
    [BenchmarkCategory("Put")]
    public Task<long> EfPut() => EfPutAsync(Next());

    [Benchmark(Description = "LiteDB Upsert")]
    [BenchmarkCategory("Put")]
    public long LitePut() => LitePut(Next());

    private int Next() => _next = (_next + 1) % KeyCount;

    private BenchmarkDocument? RawGet(RawSqlite raw)
    {
        var command = raw.Get;
        command.Parameters[0].Value = Collection;
        command.Parameters[1].Value = _keys[Next()];
        command.Parameters[2].Value = DateTimeOffset.UtcNow.UtcTicks;
        using var reader = command.ExecuteReader();
        if (!reader.Read())
        {
            return null;
        }

        _ = reader.GetInt64(1);
        return JsonSerializer.Deserialize<BenchmarkDocument>(reader.GetFieldValue<byte[]>(0), _json);
    }

    private long RawPut(RawSqlite raw, int i)
        => raw.ExecutePut(Collection, _keys[i], JsonSerializer.SerializeToUtf8Bytes(_documents[i], _json), DateTimeOffset.UtcNow.UtcTicks);

    private async Task<long> EfPutAsync(int i)
    {
        var key = _keys[i];
        var payload = JsonSerializer.SerializeToUtf8Bytes(_documents[i], _json);
        var row = await _ef.Templates.FindAsync(key);
        if (row is null)
        {
            row = new TemplateRow { Key = key, Payload = payload, Version = 1 };
            _ef.Templates.Add(row);
        }
        else
        {
            row.Payload = payload;
            row.Version++;
        }

        row.UpdatedAt = DateTimeOffset.UtcNow.UtcTicks;
        await _ef.SaveChangesAsync();
        return row.Version;
    }

    private long LitePut(int i)
    {
        var key = _keys[i];
        var existing = _liteRecords.FindById(key);
        var record = new LiteRecord { Id = key, Payload = JsonSerializer.SerializeToUtf8Bytes(_documents[i], _json), Version = (existing?.Version ?? 0) + 1, UpdatedAt = DateTimeOffset.UtcNow.UtcTicks };
        _liteRecords.Upsert(record);
        return record.Version;
    }
}

/// <summary>Batches of 10,000 puts: the store's CommitAsync and ImportAsync beside the same upserts in one raw transaction.</summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class SqliteStoreBatchBenchmarks
{
    private const int BatchSize = 10_000;
    private const string WriteRowSql = """
        INSERT INTO entries (collection, key, payload, version, created_at, updated_at, expires_at, json)
        VALUES ($c, $k, $p, $v, $created, $updated, $exp, $json)
        ON CONFLICT (collection, key) DO UPDATE SET
            payload = excluded.payload, version = excluded.version, created_at = excluded.created_at,
            updated_at = excluded.updated_at, expires_at = excluded.expires_at, json = excluded.json
        """;

    private readonly string[] _keys = Enumerable.Range(0, BatchSize).Select(i => $"template-{i:D6}").ToArray();
    private byte[][] _payloads = [];
    private string _root = string.Empty;
    private SqliteStore _store = null!;
    private RawSqlite _raw = null!;
    private SqliteCommand _insert = null!;
    private long _version;

    [GlobalSetup]
    public void Setup()
    {
        _payloads = Enumerable.Range(0, BatchSize).Select(i => JsonSerializer.SerializeToUtf8Bytes(BenchmarkDocument.Create(i), SystemTextJsonSerializer.DefaultOptions)).ToArray();
        _root = Directory.CreateTempSubdirectory("persistence-sqlite-batch-").FullName;
        _store = new SqliteStore(new SqliteStoreOptions { DataSource = Path.Combine(_root, "store.db") });
        _raw = RawSqlite.Open(Path.Combine(_root, "raw.db"), SqliteJournalMode.Wal, SqliteStoreBenchmarks.StorePragmas);
        _insert = _raw.Connection.CreateCommand();
        _insert.CommandText = WriteRowSql;
        foreach (var name in new[] { "$c", "$k", "$p", "$v", "$created", "$updated", "$exp", "$json" })
        {
            _insert.Parameters.Add(new SqliteParameter { ParameterName = name });
        }
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        await _store.DisposeAsync();
        _insert.Dispose();
        _raw.Dispose();
        SqliteConnection.ClearAllPools();
        Directory.Delete(_root, recursive: true);
    }

    [Benchmark(Baseline = true, Description = "raw: 10,000 prepared upserts in one transaction")]
    [BenchmarkCategory("Batch10k")]
    public void RawBatch()
    {
        var now = DateTimeOffset.UtcNow.UtcTicks;
        var version = ++_version;
        using var transaction = _raw.Connection.BeginTransaction();
        _insert.Transaction = transaction;
        for (var i = 0; i < BatchSize; i++)
        {
            _insert.Parameters[0].Value = "templates";
            _insert.Parameters[1].Value = _keys[i];
            _insert.Parameters[2].Value = _payloads[i];
            _insert.Parameters[3].Value = version;
            _insert.Parameters[4].Value = now;
            _insert.Parameters[5].Value = now;
            _insert.Parameters[6].Value = DBNull.Value;
            _insert.Parameters[7].Value = 1L;
            _insert.ExecuteNonQuery();
        }

        transaction.Commit();
    }

    [Benchmark(Description = "SqliteStore.CommitAsync(10,000 puts)")]
    [BenchmarkCategory("Batch10k")]
    public ValueTask<IReadOnlyList<long>> StoreCommit()
    {
        var batch = new WriteBatch();
        for (var i = 0; i < BatchSize; i++)
        {
            batch.Put("templates", _keys[i], _payloads[i]);
        }

        return _store.CommitAsync(batch);
    }

    [Benchmark(Description = "SqliteStore.ImportAsync(10,000 entries)")]
    [BenchmarkCategory("Batch10k")]
    public ValueTask<ImportResult> StoreImport()
    {
        var now = DateTimeOffset.UtcNow;
        var version = ++_version;
        var entries = new StoreEntry[BatchSize];
        for (var i = 0; i < BatchSize; i++)
        {
            entries[i] = new StoreEntry("imported", _keys[i], _payloads[i], version, now, now, null);
        }

        return _store.ImportAsync(entries, ImportMode.Overwrite);
    }
}

/// <summary>A filtered query over 100,000 documents with a path index, beside the same SQL run by hand.</summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class SqliteStoreQueryBenchmarks
{
    private const int DocumentCount = 100_000;
    private const string PointSql = """
        SELECT key, payload, version, created_at, updated_at, expires_at FROM entries
        WHERE collection = 'templates' AND json = 1 AND (expires_at IS NULL OR expires_at > $now)
          AND json_extract(CAST(payload AS TEXT), '$."name"') = $name AND json_type(CAST(payload AS TEXT), '$."name"') = 'text'
        ORDER BY key
        """;

    private const string RangeSql = """
        SELECT key, payload, version, created_at, updated_at, expires_at FROM entries
        WHERE collection = 'templates' AND json = 1 AND (expires_at IS NULL OR expires_at > $now)
          AND json_extract(CAST(payload AS TEXT), '$."revision"') = $revision AND json_type(CAST(payload AS TEXT), '$."revision"') IN ('integer', 'real')
        ORDER BY key LIMIT 50
        """;

    private string _root = string.Empty;
    private SqliteStore _store = null!;
    private SqliteConnection _raw = null!;
    private SqliteCommand _point = null!;
    private SqliteCommand _range = null!;
    private readonly Query _pointQuery = new Query().Where("name", QueryOperator.Equal, "Branch office template 42424");
    private readonly Query _rangeQuery = new Query().Where("revision", QueryOperator.Equal, 5) with { Take = 50 };

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _root = Directory.CreateTempSubdirectory("persistence-sqlite-query-").FullName;
        var path = Path.Combine(_root, "store.db");
        _store = new SqliteStore(new SqliteStoreOptions { DataSource = path }.Index("templates", "name").Index("templates", "revision"));
        var now = DateTimeOffset.UtcNow;
        for (var start = 0; start < DocumentCount; start += 10_000)
        {
            var entries = Enumerable.Range(start, 10_000)
                .Select(i => new StoreEntry("templates", $"template-{i:D6}", JsonSerializer.SerializeToUtf8Bytes(BenchmarkDocument.Create(i), SystemTextJsonSerializer.DefaultOptions), 1, now, now, null))
                .ToArray();
            await _store.ImportAsync(entries, ImportMode.Overwrite);
        }

        _raw = new SqliteConnection($"Data Source={path};Pooling=False");
        _raw.Open();
        RawSqlite.Execute(_raw, SqliteStoreBenchmarks.StorePragmas);
        _point = RawSqlite.Command(_raw, PointSql, "$now", "$name");
        _range = RawSqlite.Command(_raw, RangeSql, "$now", "$revision");
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        await _store.DisposeAsync();
        _point.Dispose();
        _range.Dispose();
        _raw.Dispose();
        SqliteConnection.ClearAllPools();
        Directory.Delete(_root, recursive: true);
    }

    [Benchmark(Baseline = true, Description = "raw SQL: name = x (indexed, 1 of 100k)")]
    [BenchmarkCategory("QueryPoint")]
    public int RawPoint()
    {
        _point.Parameters[0].Value = DateTimeOffset.UtcNow.UtcTicks;
        _point.Parameters[1].Value = "Branch office template 42424";
        return Read(_point);
    }

    [Benchmark(Description = "SqliteStore.QueryAsync: name = x")]
    [BenchmarkCategory("QueryPoint")]
    public Task<int> StorePoint() => CountAsync(_pointQuery);

    [Benchmark(Baseline = true, Description = "raw SQL: revision = 5, take 50 (indexed, ~5.9k match)")]
    [BenchmarkCategory("QueryRange")]
    public int RawRange()
    {
        _range.Parameters[0].Value = DateTimeOffset.UtcNow.UtcTicks;
        _range.Parameters[1].Value = 5L;
        return Read(_range);
    }

    [Benchmark(Description = "SqliteStore.QueryAsync: revision = 5, take 50")]
    [BenchmarkCategory("QueryRange")]
    public Task<int> StoreRange() => CountAsync(_rangeQuery);

    private static int Read(SqliteCommand command)
    {
        var count = 0;
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            _ = new StoreEntry(
                "templates",
                reader.GetString(0),
                reader.GetFieldValue<byte[]>(1),
                reader.GetInt64(2),
                new DateTimeOffset(reader.GetInt64(3), TimeSpan.Zero),
                new DateTimeOffset(reader.GetInt64(4), TimeSpan.Zero),
                null);
            count++;
        }

        return count;
    }

    private async Task<int> CountAsync(Query query)
    {
        var count = 0;
        await foreach (var unused in _store.QueryAsync("templates", query))
        {
            count++;
        }

        return count;
    }


}

/// <summary>A raw connection on a database with the store's schema, and the store's statements prepared on it.</summary>
internal sealed class RawSqlite : IDisposable
{
    private RawSqlite(SqliteConnection connection, SqliteCommand get, SqliteCommand put)
    {
        Connection = connection;
        Get = get;
        Put = put;
    }

    public SqliteConnection Connection { get; }

    public SqliteCommand Get { get; }

    public SqliteCommand Put { get; }

    public static RawSqlite Open(string path, SqliteJournalMode journalMode, string? pragmas, bool changeFeed = false)
    {
        // The schema is the store's own: a store creates the file, then the raw connection works on it alone.
        new SqliteStore(new SqliteStoreOptions { DataSource = path, JournalMode = journalMode, ChangeFeed = changeFeed }).DisposeAsync().AsTask().GetAwaiter().GetResult();

        var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        connection.Open();
        if (pragmas is not null)
        {
            Execute(connection, pragmas);
        }

        return new RawSqlite(
            connection,
            Command(connection, SqliteStoreBenchmarks.GetSql, "$c", "$k", "$now"),
            Command(connection, SqliteStoreBenchmarks.PutSql, "$c", "$k", "$p", "$now", "$exp", "$json"));
    }

    /// <summary>A command on <paramref name="connection"/> with its named parameters, to be bound by index.</summary>
    public static SqliteCommand Command(SqliteConnection connection, string sql, params string[] parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var name in parameters)
        {
            command.Parameters.Add(new SqliteParameter { ParameterName = name });
        }

        return command;
    }

    /// <summary>Runs the store's upsert of one plain JSON payload with no expiry; returns the version it wrote.</summary>
    public long ExecutePut(string collection, string key, byte[] payload, long nowTicks)
    {
        Put.Parameters[0].Value = collection;
        Put.Parameters[1].Value = key;
        Put.Parameters[2].Value = payload;
        Put.Parameters[3].Value = nowTicks;
        Put.Parameters[4].Value = DBNull.Value;
        Put.Parameters[5].Value = 1L;
        return (long)Put.ExecuteScalar()!;
    }

    public static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    public void Dispose()
    {
        Get.Dispose();
        Put.Dispose();
        Connection.Dispose();
    }
}

/// <summary>The EF Core side: one row per template with its JSON payload.</summary>
internal sealed class BenchmarkDbContext(SqliteConnection connection) : DbContext
{
    public DbSet<TemplateRow> Templates => Set<TemplateRow>();

    protected override void OnConfiguring(DbContextOptionsBuilder optionsBuilder) => optionsBuilder.UseSqlite(connection);

    protected override void OnModelCreating(ModelBuilder modelBuilder) => modelBuilder.Entity<TemplateRow>().HasKey(t => t.Key);
}

internal sealed class TemplateRow
{
    public string Key { get; set; } = string.Empty;

    public byte[] Payload { get; set; } = [];

    public long Version { get; set; }

    public long UpdatedAt { get; set; }
}

/// <summary>The LiteDB side: one document per template with its JSON payload.</summary>
public sealed class LiteRecord
{
    public string Id { get; set; } = string.Empty;

    public byte[] Payload { get; set; } = [];

    public long Version { get; set; }

    public long UpdatedAt { get; set; }
}

/// <summary>
/// A put with the change feed on: <see cref="SqliteStore.PutAsync{T}"/> beside the raw driver doing the same work, the
/// store's statements in one <c>BEGIN IMMEDIATE … COMMIT</c>: the upsert and the insert of its change-log row (commit
/// number = one more than the newest).
/// </summary>
[MemoryDiagnoser]
public class SqliteChangeFeedPutBenchmarks
{
    private const string Collection = "templates";
    private const int KeyCount = 64;
    private const string AppendSql = """
        INSERT INTO change_log (commit_no, idx, collection, key, kind, version, at) VALUES (
            (SELECT max(coalesce((SELECT max(commit_no) FROM change_log), 0), (SELECT trimmed_commit FROM change_log_state)) + 1),
            0, $c, $k, 0, $v, $at)
        """;

    private readonly BenchmarkDocument[] _documents = Enumerable.Range(0, KeyCount).Select(BenchmarkDocument.Create).ToArray();
    private readonly string[] _keys = Enumerable.Range(0, KeyCount).Select(i => $"template-{i:D6}").ToArray();
    private string _root = string.Empty;
    private SqliteStore _store = null!;
    private RawSqlite _raw = null!;
    private SqliteCommand _begin = null!;
    private SqliteCommand _append = null!;
    private SqliteCommand _commit = null!;
    private int _next;

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _root = Directory.CreateTempSubdirectory("persistence-sqlite-feed-bench-").FullName;
        _store = new SqliteStore(new SqliteStoreOptions { DataSource = Path.Combine(_root, "store.db"), ChangeFeed = true });
        _raw = RawSqlite.Open(Path.Combine(_root, "raw.db"), SqliteJournalMode.Wal, SqliteStoreBenchmarks.StorePragmas, changeFeed: true);
        _begin = RawSqlite.Command(_raw.Connection, "BEGIN IMMEDIATE");
        _append = RawSqlite.Command(_raw.Connection, AppendSql, "$c", "$k", "$v", "$at");
        _commit = RawSqlite.Command(_raw.Connection, "COMMIT");
        for (var i = 0; i < KeyCount; i++)
        {
            await _store.PutAsync(Collection, _keys[i], _documents[i]);
            RawPut(i);
        }
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        await _store.DisposeAsync();
        foreach (var command in new[] { _begin, _append, _commit })
        {
            command.Dispose();
        }

        _raw.Dispose();
        SqliteConnection.ClearAllPools();
        Directory.Delete(_root, recursive: true);
    }

    [Benchmark(Baseline = true, Description = "raw: BEGIN IMMEDIATE, upsert, change row, COMMIT + STJ")]
    public long RawPut() => RawPut(Next());

    [Benchmark(Description = "SqliteStore.PutAsync<T> (ChangeFeed = true)")]
    public ValueTask<long> StorePut()
    {
        var i = Next();
        return _store.PutAsync(Collection, _keys[i], _documents[i]);
    }

    private int Next() => _next = (_next + 1) % KeyCount;

    private long RawPut(int i)
    {
        var now = DateTimeOffset.UtcNow.UtcTicks;
        _begin.ExecuteNonQuery();
        var version = _raw.ExecutePut(Collection, _keys[i], JsonSerializer.SerializeToUtf8Bytes(_documents[i], SystemTextJsonSerializer.DefaultOptions), now);
        _append.Parameters[0].Value = Collection;
        _append.Parameters[1].Value = _keys[i];
        _append.Parameters[2].Value = version;
        _append.Parameters[3].Value = now;
        _append.ExecuteNonQuery();
        _commit.ExecuteNonQuery();
        return version;
    }
}
