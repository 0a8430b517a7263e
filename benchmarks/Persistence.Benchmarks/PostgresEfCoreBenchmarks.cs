using System.Text;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Npgsql;
using Persistence.Stores.Postgres;
using Persistence.Testing.Postgres;

namespace Persistence.Benchmarks;

/// <summary>
/// <see cref="PostgresStore"/> Get and Put (the baseline) beside EF Core + Npgsql doing what an EF user would write for
/// the same key-value row on the same server (default <c>synchronous_commit</c> for both): a pooled context per
/// operation; a get is an <c>AsNoTracking</c> query by collection and key that skips expired rows, a put reads the row
/// (tracked), updates it with the version one up (the version a concurrency token) or adds it at version 1, and calls
/// <c>SaveChangesAsync</c>. The ratio column is EF time / store time.
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class PostgresEfCoreBenchmarks
{
    private const string Collection = "templates";
    private const int KeyCount = 1000;

    private readonly string[] _keys = Enumerable.Range(0, KeyCount).Select(i => $"template-{i:D6}").ToArray();
    private byte[][] _payloads = [];
    private string[] _docs = [];
    private PostgresServer? _server;
    private PostgresStore _store = null!;
    private NpgsqlDataSource _efSource = null!;
    private PooledDbContextFactory<KeyValueDbContext> _contexts = null!;
    private int _next;

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _payloads = Enumerable.Range(0, KeyCount).Select(i => JsonSerializer.SerializeToUtf8Bytes(BenchmarkDocument.Create(i), SystemTextJsonSerializer.DefaultOptions)).ToArray();
        _docs = _payloads.Select(p => Encoding.UTF8.GetString(p)).ToArray();
        (var connectionString, _server) = await PostgresBenchmarkServer.StartAsync();
        _store = new PostgresStore(new PostgresStoreOptions { ConnectionString = connectionString, Schema = "ef_store" });
        var batch = new WriteBatch();
        for (var i = 0; i < KeyCount; i++)
        {
            batch.Put(Collection, _keys[i], _payloads[i]);
        }

        await _store.CommitAsync(batch);

        // EF's table: the same columns, key and collation as the store's, filled with the store's rows.
        _efSource = NpgsqlDataSource.Create(connectionString);
        await using (var connection = await _efSource.OpenConnectionAsync())
        await using (var create = new NpgsqlCommand(
            """
            DROP SCHEMA IF EXISTS ef CASCADE;
            CREATE SCHEMA ef;
            CREATE TABLE ef.entries (
                collection text COLLATE "C" NOT NULL,
                key text COLLATE "C" NOT NULL,
                payload bytea NOT NULL,
                doc jsonb,
                version bigint NOT NULL,
                created_at bigint NOT NULL,
                updated_at bigint NOT NULL,
                expires_at bigint,
                PRIMARY KEY (collection, key));
            INSERT INTO ef.entries SELECT collection, key, payload, doc, version, created_at, updated_at, expires_at FROM ef_store.entries;
            """,
            connection))
        {
            await create.ExecuteNonQueryAsync();
        }

        _contexts = new PooledDbContextFactory<KeyValueDbContext>(new DbContextOptionsBuilder<KeyValueDbContext>().UseNpgsql(_efSource).Options);
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        await _store.DisposeAsync();
        await _efSource.DisposeAsync();
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    [Benchmark(Baseline = true, Description = "PostgresStore.GetAsync")]
    [BenchmarkCategory("Get")]
    public ValueTask<StoreEntry?> StoreGet() => _store.GetAsync(Collection, _keys[Next()]);

    [Benchmark(Description = "EF Core AsNoTracking FirstOrDefault")]
    [BenchmarkCategory("Get")]
    public async Task<KeyValueRow> EfGet()
    {
        var key = _keys[Next()];
        var now = DateTimeOffset.UtcNow.UtcTicks;
        await using var context = await _contexts.CreateDbContextAsync();
        return await context.Entries.AsNoTracking()
            .FirstOrDefaultAsync(e => e.Collection == Collection && e.Key == key && (e.ExpiresAt == null || e.ExpiresAt > now))
            ?? throw new InvalidOperationException("missing");
    }

    [Benchmark(Baseline = true, Description = "PostgresStore.PutAsync")]
    [BenchmarkCategory("Put")]
    public ValueTask<long> StorePut()
    {
        var i = Next();
        return _store.PutAsync(Collection, _keys[i], _payloads[i]);
    }

    [Benchmark(Description = "EF Core read + update/add + SaveChanges")]
    [BenchmarkCategory("Put")]
    public async Task<long> EfPut()
    {
        var i = Next();
        var key = _keys[i];
        var now = DateTimeOffset.UtcNow.UtcTicks;
        await using var context = await _contexts.CreateDbContextAsync();
        var row = await context.Entries.FirstOrDefaultAsync(e => e.Collection == Collection && e.Key == key);
        if (row is null)
        {
            row = new KeyValueRow { Collection = Collection, Key = key, Version = 1, CreatedAt = now };
            context.Entries.Add(row);
        }
        else if (row.ExpiresAt is { } expires && expires <= now)
        {
            (row.Version, row.CreatedAt) = (1, now);
        }
        else
        {
            row.Version++;
        }

        row.Payload = _payloads[i];
        row.Doc = _docs[i];
        row.UpdatedAt = now;
        row.ExpiresAt = null;
        await context.SaveChangesAsync();
        return row.Version;
    }

    private int Next() => _next = (_next + 1) % KeyCount;
}

/// <summary>EF Core's key-value row: the store's table shape.</summary>
public sealed class KeyValueRow
{
    public string Collection { get; set; } = string.Empty;

    public string Key { get; set; } = string.Empty;

    public byte[] Payload { get; set; } = [];

    public string? Doc { get; set; }

    public long Version { get; set; }

    public long CreatedAt { get; set; }

    public long UpdatedAt { get; set; }

    public long? ExpiresAt { get; set; }
}

/// <summary>The EF Core side of <see cref="PostgresEfCoreBenchmarks"/>.</summary>
public sealed class KeyValueDbContext(DbContextOptions<KeyValueDbContext> options) : DbContext(options)
{
    public DbSet<KeyValueRow> Entries => Set<KeyValueRow>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        var row = modelBuilder.Entity<KeyValueRow>();
        row.ToTable("entries", "ef");
        row.HasKey(e => new { e.Collection, e.Key });
        row.Property(e => e.Collection).HasColumnName("collection");
        row.Property(e => e.Key).HasColumnName("key");
        row.Property(e => e.Payload).HasColumnName("payload");
        row.Property(e => e.Doc).HasColumnName("doc").HasColumnType("jsonb");
        row.Property(e => e.Version).HasColumnName("version").IsConcurrencyToken();
        row.Property(e => e.CreatedAt).HasColumnName("created_at");
        row.Property(e => e.UpdatedAt).HasColumnName("updated_at");
        row.Property(e => e.ExpiresAt).HasColumnName("expires_at");
    }
}
