using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Npgsql;
using NpgsqlTypes;
using Persistence.Stores.Postgres;
using Persistence.Testing.Postgres;

namespace Persistence.Benchmarks;

/// <summary>
/// The local PostgreSQL server of the PostgreSQL benchmarks: the one whose connection string is in
/// PERSISTENCE_BENCH_POSTGRES, else a throw-away server (initdb + pg_ctl, as the tests start one) for this process.
/// </summary>
internal static class PostgresBenchmarkServer
{
    public static async Task<(string ConnectionString, PostgresServer? Server)> StartAsync()
    {
        if (Environment.GetEnvironmentVariable("PERSISTENCE_BENCH_POSTGRES") is { Length: > 0 } existing)
        {
            return (existing, null);
        }

        var server = await PostgresServer.StartAsync();
        return (await server.CreateDatabaseAsync("bench"), server);
    }
}

/// <summary>
/// <see cref="PostgresStore"/> beside raw Npgsql running the very same statements (the store's own SQL text, the same
/// parameters) on the same server and the same ~1 KB document: Get, Put, a 1,000-key GetMany and a 10,000-put batch
/// (raw: the same transaction of a locking read and an array update).
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class PostgresStoreBenchmarks
{
    private const string Collection = "templates";
    private const int KeyCount = 10_000;

    private readonly string[] _keys = Enumerable.Range(0, KeyCount).Select(i => $"template-{i:D6}").ToArray();
    private byte[][] _payloads = [];
    private PostgresServer? _server;
    private NpgsqlDataSource _raw = null!;
    private PostgresStore _store = null!;
    private PostgresStore _rawTables = null!;
    private WriteBatch _batch = null!;
    private int _next;

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _payloads = Enumerable.Range(0, KeyCount).Select(i => JsonSerializer.SerializeToUtf8Bytes(BenchmarkDocument.Create(i), SystemTextJsonSerializer.DefaultOptions)).ToArray();
        (var connectionString, _server) = await PostgresBenchmarkServer.StartAsync();
        _store = new PostgresStore(new PostgresStoreOptions { ConnectionString = connectionString, Schema = "bench_store" });

        // The raw side's table: created by a second store in its own schema, written only through raw statements.
        _rawTables = new PostgresStore(new PostgresStoreOptions { ConnectionString = connectionString, Schema = "bench_raw" });
        _raw = NpgsqlDataSource.Create(_rawTables.EffectiveConnectionString);
        _batch = new WriteBatch();
        for (var i = 0; i < KeyCount; i++)
        {
            _batch.Put(Collection, _keys[i], _payloads[i]);
        }

        await _store.CommitAsync(_batch);
        await RawBatch();
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        await _store.DisposeAsync();
        await _rawTables.DisposeAsync();
        await _raw.DisposeAsync();
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    [Benchmark(Baseline = true, Description = "raw Npgsql SELECT")]
    [BenchmarkCategory("Get")]
    public async Task<StoreEntry> RawGet()
    {
        var key = _keys[Next()];
        await using var connection = await _raw.OpenConnectionAsync();
        await using var command = Command(connection, _rawTables.Statements.Get, Text(Collection), Text(key), Int64(DateTimeOffset.UtcNow.UtcTicks));
        await using var reader = await command.ExecuteReaderAsync();
        return await reader.ReadAsync()
            ? new StoreEntry(Collection, key, reader.GetFieldValue<byte[]>(0), reader.GetInt64(1), new DateTimeOffset(reader.GetInt64(2), TimeSpan.Zero), new DateTimeOffset(reader.GetInt64(3), TimeSpan.Zero), null)
            : throw new InvalidOperationException("missing");
    }

    [Benchmark(Description = "PostgresStore.GetAsync")]
    [BenchmarkCategory("Get")]
    public ValueTask<StoreEntry?> StoreGet() => _store.GetAsync(Collection, _keys[Next()]);

    [Benchmark(Baseline = true, Description = "raw Npgsql INSERT ON CONFLICT")]
    [BenchmarkCategory("Put")]
    public async Task<long> RawPut()
    {
        var i = Next();
        await using var connection = await _raw.OpenConnectionAsync();
        await using var command = Command(
            connection,
            _rawTables.Statements.Upsert,
            Text(Collection),
            Text(_keys[i]),
            Int64(DateTimeOffset.UtcNow.UtcTicks),
            new NpgsqlParameter { Value = _payloads[i], NpgsqlDbType = NpgsqlDbType.Bytea },
            new NpgsqlParameter { Value = _payloads[i], NpgsqlDbType = NpgsqlDbType.Jsonb },
            new NpgsqlParameter { Value = DBNull.Value, NpgsqlDbType = NpgsqlDbType.Bigint });
        return (long)(await command.ExecuteScalarAsync())!;
    }

    [Benchmark(Description = "PostgresStore.PutAsync")]
    [BenchmarkCategory("Put")]
    public ValueTask<long> StorePut()
    {
        var i = Next();
        return _store.PutAsync(Collection, _keys[i], _payloads[i]);
    }

    [Benchmark(Baseline = true, Description = "raw Npgsql key = ANY($2)")]
    [BenchmarkCategory("GetMany1000")]
    public async Task<int> RawGetMany()
    {
        await using var connection = await _raw.OpenConnectionAsync();
        await using var command = Command(
            connection,
            _rawTables.Statements.GetMany,
            Text(Collection),
            new NpgsqlParameter { Value = _keys[..1000], NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text },
            Int64(DateTimeOffset.UtcNow.UtcTicks));
        await using var reader = await command.ExecuteReaderAsync();
        var count = 0;
        while (await reader.ReadAsync())
        {
            _ = new StoreEntry(Collection, reader.GetString(0), reader.GetFieldValue<byte[]>(1), reader.GetInt64(2), new DateTimeOffset(reader.GetInt64(3), TimeSpan.Zero), new DateTimeOffset(reader.GetInt64(4), TimeSpan.Zero), null);
            count++;
        }

        return count;
    }

    [Benchmark(Description = "PostgresStore.GetManyAsync")]
    [BenchmarkCategory("GetMany1000")]
    public ValueTask<IReadOnlyList<StoreEntry?>> StoreGetMany() => _store.GetManyAsync(Collection, _keys[..1000]);

    [Benchmark(Baseline = true, Description = "raw Npgsql lock + unnest update")]
    [BenchmarkCategory("Batch10000")]
    public async Task<int> RawBatch()
    {
        var now = DateTimeOffset.UtcNow.UtcTicks;
        await using var connection = await _raw.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        var versions = new long[KeyCount];
        var created = new long[KeyCount];
        await using (var read = Command(
            connection,
            _rawTables.Statements.LockRows,
            new NpgsqlParameter { Value = Enumerable.Repeat(Collection, KeyCount).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text },
            new NpgsqlParameter { Value = _keys, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text }))
        {
            await using var reader = await read.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                var i = reader.GetInt64(0) - 1;
                versions[i] = reader.GetInt64(1) + 1;
                created[i] = reader.GetInt64(2);
            }
        }

        for (var i = 0; i < KeyCount; i++)
        {
            if (versions[i] == 0)
            {
                (versions[i], created[i]) = (1, now);
            }
        }

        await using var write = Command(
            connection,
            versions.All(v => v > 1) ? _rawTables.Statements.UpdateRows : _rawTables.Statements.InsertRows,
            new NpgsqlParameter { Value = Enumerable.Repeat(Collection, KeyCount).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text },
            new NpgsqlParameter { Value = _keys, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text },
            new NpgsqlParameter { Value = _payloads, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bytea },
            new NpgsqlParameter { Value = _payloads, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Jsonb },
            new NpgsqlParameter { Value = versions, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint },
            new NpgsqlParameter { Value = created, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint },
            new NpgsqlParameter { Value = Enumerable.Repeat(now, KeyCount).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint },
            new NpgsqlParameter { Value = new long?[KeyCount], NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint });
        var written = await write.ExecuteNonQueryAsync();
        await transaction.CommitAsync();
        return written;
    }

    [Benchmark(Description = "PostgresStore.CommitAsync")]
    [BenchmarkCategory("Batch10000")]
    public ValueTask<IReadOnlyList<long>> StoreBatch() => _store.CommitAsync(_batch);

    internal static NpgsqlCommand Command(NpgsqlConnection connection, string sql, params NpgsqlParameter[] parameters)
    {
        var command = new NpgsqlCommand(sql, connection);
        command.Parameters.AddRange(parameters);
        return command;
    }

    internal static NpgsqlParameter Text(string value) => new() { Value = value, NpgsqlDbType = NpgsqlDbType.Text };

    internal static NpgsqlParameter Int64(long value) => new() { Value = value, NpgsqlDbType = NpgsqlDbType.Bigint };

    private int Next() => _next = (_next + 1) % 1000;
}

/// <summary>
/// <see cref="PostgresStore.ImportAsync"/> of 100,000 small entries into an empty collection beside a raw binary
/// <c>COPY</c> of the same rows (the store's COPY statement) into the same kind of table; each iteration starts from an
/// emptied table.
/// </summary>
[MemoryDiagnoser]
public class PostgresImportBenchmarks
{
    private const int EntryCount = 100_000;
    private StoreEntry[] _entries = [];
    private PostgresServer? _server;
    private NpgsqlDataSource _raw = null!;
    private PostgresStore _store = null!;
    private PostgresStore _rawTables = null!;

    [GlobalSetup]
    public async Task SetupAsync()
    {
        var now = DateTimeOffset.UtcNow;
        _entries = Enumerable.Range(0, EntryCount)
            .Select(i => new StoreEntry("imported", $"entry-{i:D7}", Encoding.UTF8.GetBytes($$"""{"id":{{i}},"name":"entry {{i}}","status":"{{(i % 3 == 0 ? "open" : "closed")}}","tags":["a","b"]}"""), 1, now, now, null))
            .ToArray();
        (var connectionString, _server) = await PostgresBenchmarkServer.StartAsync();
        _store = new PostgresStore(new PostgresStoreOptions { ConnectionString = connectionString, Schema = "import_store" });
        _rawTables = new PostgresStore(new PostgresStoreOptions { ConnectionString = connectionString, Schema = "import_raw" });
        _raw = NpgsqlDataSource.Create(_rawTables.EffectiveConnectionString);
    }

    [IterationSetup]
    public void Empty()
    {
        using var connection = _raw.OpenConnection();
        using var truncate = new NpgsqlCommand("TRUNCATE import_store.entries, import_raw.entries", connection);
        truncate.ExecuteNonQuery();
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        await _store.DisposeAsync();
        await _rawTables.DisposeAsync();
        await _raw.DisposeAsync();
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    [Benchmark(Baseline = true, Description = "raw Npgsql binary COPY")]
    public async Task<ulong> RawCopy()
    {
        await using var connection = await _raw.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using var writer = await connection.BeginBinaryImportAsync(_rawTables.Statements.Copy);
        for (var i = 0; i < _entries.Length; i++)
        {
            var entry = _entries[i];
            await writer.StartRowAsync();
            await writer.WriteAsync(entry.Collection, NpgsqlDbType.Text);
            await writer.WriteAsync(entry.Key, NpgsqlDbType.Text);
            // The entry's own array, as the store sends it (no copy).
            var payload = MemoryMarshal.TryGetArray(entry.Payload, out var segment) ? segment.Array! : entry.Payload.ToArray();
            await writer.WriteAsync(payload, NpgsqlDbType.Bytea);
            await writer.WriteAsync(payload, NpgsqlDbType.Jsonb);
            await writer.WriteAsync(entry.Version, NpgsqlDbType.Bigint);
            await writer.WriteAsync(entry.CreatedAt.UtcTicks, NpgsqlDbType.Bigint);
            await writer.WriteAsync(entry.UpdatedAt.UtcTicks, NpgsqlDbType.Bigint);
            await writer.WriteNullAsync();
        }

        var rows = await writer.CompleteAsync();
        await writer.DisposeAsync();
        await transaction.CommitAsync();
        return rows;
    }

    [Benchmark(Description = "PostgresStore.ImportAsync")]
    public ValueTask<ImportResult> StoreImport() => _store.ImportAsync(_entries, ImportMode.FailOnConflict);
}
