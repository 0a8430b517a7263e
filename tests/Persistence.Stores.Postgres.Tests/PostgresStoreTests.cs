using System.Text;
using FluentAssertions;
using Microsoft.Extensions.Time.Testing;
using Npgsql;
using Persistence.Backup;
using Persistence.Stores.Json;
using Persistence.Stores.Sqlite;

namespace Persistence.Stores.Postgres.Tests;

/// <summary>What is particular to the PostgreSQL store: schema, jsonb fidelity, index use, keys, imports, migration.</summary>
public sealed class PostgresStoreTests(PostgresFixture postgres) : IAsyncDisposable
{
    private readonly List<IAsyncDisposable> _disposables = [];

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public async ValueTask DisposeAsync()
    {
        foreach (var disposable in _disposables)
        {
            await disposable.DisposeAsync();
        }
    }

    [Fact]
    public async Task QueryAsync_EqualityOnAnIndexedPath_UsesTheIndex()
    {
        var store = Open(postgres.Options().Index("orders", "status"));
        var batch = new WriteBatch();
        for (var i = 0; i < 2000; i++)
        {
            batch.Put("orders", $"o{i:D5}", Encoding.UTF8.GetBytes($$"""{"status":"{{(i % 100 == 0 ? "open" : "closed")}}","n":{{i}}}"""));
        }

        await store.CommitAsync(batch, Token);
        await Execute($"ANALYZE \"{store.Schema}\".entries");
        var query = new Query().Where("status", QueryOperator.Equal, "open");

        var plan = await store.ExplainAsync("orders", query, Token);
        var results = await store.QueryAsync("orders", query, Token).ToListAsync(Token);

        plan.Should().Contain(store.IndexName(store.Indexes[0]), plan);
        results.Should().HaveCount(20);
        results.Select(r => r.Key).Should().BeInAscendingOrder(StringComparer.Ordinal);
        store.QueryCounts.Sql.Should().Be(1);
    }

    [Fact]
    public async Task PutAsync_JsonPayloads_RoundTripByteForByteWhileJsonbNormalises()
    {
        var store = Open(postgres.Options());
        var payload = "{ \"b\" : 1.50,\n\"a\":[1,2 ,3], \"e\":\"\\u00e9\\ud83d\\ude00\" }"u8.ToArray();

        await store.PutAsync("docs", "k", payload, cancellationToken: Token);

        (await store.GetAsync("docs", "k", Token))!.Payload.ToArray().Should().Equal(payload);
        (await Scalar($"SELECT doc::text FROM \"{store.Schema}\".entries")).Should().Be("{\"a\": [1, 2, 3], \"b\": 1.50, \"e\": \"é😀\"}");
        (await store.QueryAsync("docs", new Query().Where("e", QueryOperator.Equal, "é😀"), Token).CountAsync(Token)).Should().Be(1);
    }

    [Fact]
    public async Task BatchesAndImports_SendThePayloadBytesAsJsonb_AndNoDocForPayloadsJsonbCannotHold()
    {
        var store = Open(postgres.Options());
        var plain = "{ \"b\" : 1.50, \"a\":[1,2 ,3] }"u8.ToArray();
        var duplicate = "{\"a\":1,\"a\":2}"u8.ToArray();
        var now = DateTimeOffset.UtcNow;
        var batch = new WriteBatch();
        batch.Put("docs", "batch-plain", plain);
        batch.Put("docs", "batch-duplicate", duplicate);

        await store.CommitAsync(batch, Token);
        await store.ImportAsync([new StoreEntry("docs", "import-plain", plain, 1, now, now, null), new StoreEntry("docs", "import-duplicate", duplicate, 1, now, now, null)], ImportMode.FailOnConflict, Token);

        foreach (var how in (string[])["batch", "import"])
        {
            (await Scalar($"SELECT doc::text FROM \"{store.Schema}\".entries WHERE key = '{how}-plain'")).Should().Be("{\"a\": [1, 2, 3], \"b\": 1.50}", how);
            (await Scalar($"SELECT doc IS NULL FROM \"{store.Schema}\".entries WHERE key = '{how}-duplicate'")).Should().Be(true, how);
            (await store.GetAsync("docs", $"{how}-plain", Token))!.Payload.ToArray().Should().Equal(plain);
            (await store.GetAsync("docs", $"{how}-duplicate", Token))!.Payload.ToArray().Should().Equal(duplicate);
        }
    }

    [Theory]
    [InlineData("{\"a\":1,\"a\":2}")] // duplicate names: jsonb keeps the last
    [InlineData("{\"a\":\"\\u0000\"}")] // jsonb refuses \u0000
    [InlineData("{\"a\":\"\\ud800\"}")] // a lone surrogate
    public async Task PutAsync_PayloadsJsonbCannotHoldExactly_StoreNoDocAndStillQueryRight(string text)
    {
        var store = Open(postgres.Options());
        var payload = Encoding.UTF8.GetBytes(text);

        await store.PutAsync("docs", "k", payload, cancellationToken: Token);
        await store.PutAsync("docs", "plain", "{\"a\":2}"u8.ToArray(), cancellationToken: Token);

        (await store.GetAsync("docs", "k", Token))!.Payload.ToArray().Should().Equal(payload);
        (await Scalar($"SELECT doc IS NULL FROM \"{store.Schema}\".entries WHERE key = 'k'")).Should().Be(true);
        var inMemory = await QueryEvaluator.EvaluateAsync(store.ScanAsync("docs", cancellationToken: Token), new Query().Where("a", QueryOperator.Equal, 2), store.Serializer, Token).Select(e => e.Key).ToListAsync(Token);
        (await store.QueryAsync("docs", new Query().Where("a", QueryOperator.Equal, 2), Token).Select(e => e.Key).ToListAsync(Token)).Should().Equal(inMemory);
    }

    [Fact]
    public async Task PutAsync_KeyWithNul_IsRefusedLikeEveryStore()
    {
        var store = Open(postgres.Options());

        var act = async () => await store.PutAsync("items", "a\0b", "1"u8.ToArray(), cancellationToken: Token);

        await act.Should().ThrowAsync<ArgumentException>().WithMessage("*NUL*");
        (await store.ListKeysAsync("items", new ScanOptions { Prefix = "a\0" }, Token).ToListAsync(Token)).Should().BeEmpty();
    }

    [Fact]
    public async Task ScanAsync_HostileKeys_ComeBackInCodePointOrder()
    {
        var store = Open(postgres.Options());
        string[] keys = ["a", "B", "ä", "z", "\uFFFD", "😀", "\uE000", "a b", "a'b", "a\"b", "a\\b", "%", "_", "..", "-", "\u0001", "ﬀ", "İ", "ß", "SS"];
        foreach (var key in keys)
        {
            await store.PutAsync("items", key, Encoding.UTF8.GetBytes("1"), cancellationToken: Token);
        }

        var scanned = await store.ListKeysAsync("items", cancellationToken: Token).ToListAsync(Token);

        scanned.Should().Equal(keys.OrderBy(k => k, KeyComparer.Instance));
        (await store.ListKeysAsync("items", new ScanOptions { Prefix = "a" }, Token).ToListAsync(Token)).Should().Equal("a", "a b", "a\"b", "a'b", "a\\b");
    }

    [Fact]
    public async Task ImportAsync_LargeImportThenMergeOverExistingKeys_CopiesAndMerges()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var store = Open(postgres.Options(), time);
        var entries = Enumerable.Range(0, 5000)
            .Select(i => new StoreEntry("items", $"k{i:D5}", Encoding.UTF8.GetBytes($"{{\"i\":{i}}}"), 3, time.GetUtcNow().AddDays(-2), time.GetUtcNow().AddDays(-1), null))
            .ToList();

        (await store.ImportAsync(entries, ImportMode.FailOnConflict, Token)).Should().Be(new ImportResult(5000, 0));
        await store.PutAsync("items", "k00001", "{\"i\":-1}"u8.ToArray(), cancellationToken: Token);
        var merged = await store.ImportAsync(entries, ImportMode.PreserveExisting, Token);
        var conflict = async () => await store.ImportAsync(entries, ImportMode.FailOnConflict, Token);

        merged.Should().Be(new ImportResult(0, 5000));
        await conflict.Should().ThrowAsync<ConcurrencyConflictException>();
        (await store.CountAsync("items", Token)).Should().Be(5000);
        var first = (await store.GetAsync("items", "k00000", Token))!;
        (first.Version, first.CreatedAt, first.UpdatedAt).Should().Be((3, entries[0].CreatedAt, entries[0].UpdatedAt));
        (await store.GetAsync("items", "k00001", Token))!.Version.Should().Be(4);
        (await store.ImportAsync(entries, ImportMode.Overwrite, Token)).Should().Be(new ImportResult(5000, 0));
        (await store.GetAsync("items", "k00001", Token))!.Version.Should().Be(3);
    }

    [Fact]
    public async Task CountAsync_ExpiredRecords_AreNotCountedAndPurgeDeletesThem()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var store = Open(postgres.Options(), time);
        await store.PutAsync("items", "short", "1"u8.ToArray(), new PutOptions { TimeToLive = TimeSpan.FromMinutes(1) }, Token);
        await store.PutAsync("items", "long", "1"u8.ToArray(), cancellationToken: Token);

        time.Advance(TimeSpan.FromMinutes(2));

        (await store.CountAsync("items", Token)).Should().Be(1);
        (await Scalar($"SELECT count(*) FROM \"{store.Schema}\".entries")).Should().Be(2L);
        (await store.PurgeExpiredAsync(Token)).Should().Be(1);
        (await Scalar($"SELECT count(*) FROM \"{store.Schema}\".entries")).Should().Be(1L);
    }

    [Fact]
    public async Task Constructor_NewerSchemaVersion_IsRefusedAndLeftAsItWas()
    {
        var options = postgres.Options();
        await using (var created = new PostgresStore(options))
        {
            await created.PutAsync("items", "k", "1"u8.ToArray(), cancellationToken: Token);
        }

        await Execute($"UPDATE \"{options.Schema}\".entries_schema SET version = 99");

        var act = () => new PostgresStore(options);

        act.Should().Throw<PersistenceException>().WithMessage("*schema version 99*newer*");
        (await Scalar($"SELECT version FROM \"{options.Schema}\".entries_schema")).Should().Be(99);
    }

    [Fact]
    public async Task Constructor_ATableOfAnotherApplication_IsRefused()
    {
        var schema = postgres.UniqueSchema();
        await Execute($"CREATE SCHEMA \"{schema}\"; CREATE TABLE \"{schema}\".entries (id int)");

        var act = () => new PostgresStore(new PostgresStoreOptions { ConnectionString = postgres.ConnectionString, Schema = schema });

        act.Should().Throw<PersistenceException>().WithMessage("*another application*");
    }

    [Fact]
    public async Task Migration_SqliteToPostgresToJsonFiles_VerifiesEveryStep()
    {
        using var root = new TempDirectory();
        await using var sqlite = new SqliteStore(new SqliteStoreOptions { DataSource = root.Combine("source.db") });
        var batch = new WriteBatch();
        for (var i = 0; i < 300; i++)
        {
            batch.Put(i % 2 == 0 ? "orders" : "customers", $"key-{i:D4}-é😀", Encoding.UTF8.GetBytes($$"""{ "i" : {{i}}, "text":"\u00e9 {{i}}" }"""));
        }

        await sqlite.CommitAsync(batch, Token);
        await sqlite.PutAsync("orders", "raw", "not json at all"u8.ToArray(), cancellationToken: Token);
        var pg = Open(postgres.Options());
        await using var json = new JsonFileStore(new JsonFileStoreOptions { RootPath = root.Combine("json") });

        var toPostgres = await sqlite.MigrateAsync(pg, cancellationToken: Token);
        var toJson = await pg.MigrateAsync(json, cancellationToken: Token);

        toPostgres.Success.Should().BeTrue(string.Join("; ", toPostgres.Errors));
        toPostgres.Verified.Should().BeTrue();
        toPostgres.EntriesCopied.Should().Be(301);
        toJson.Success.Should().BeTrue(string.Join("; ", toJson.Errors));
        toJson.Verified.Should().BeTrue();
        var original = await sqlite.GetAsync("orders", "key-0000-é😀", Token);
        (await json.GetAsync("orders", "key-0000-é😀", Token))!.Payload.ToArray().Should().Equal(original!.Payload.ToArray());
    }

    private PostgresStore Open(PostgresStoreOptions options, TimeProvider? time = null)
    {
        var store = new PostgresStore(options, "test", time);
        _disposables.Add(store);
        return store;
    }

    private async Task Execute(string sql) => await Scalar(sql);

    private async Task<object?> Scalar(string sql)
    {
        await using var connection = new NpgsqlConnection(postgres.ConnectionString);
        await connection.OpenAsync(Token);
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync(Token);
    }
}
