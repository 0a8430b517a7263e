using System.Text;
using FluentAssertions;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Time.Testing;

namespace Persistence.Stores.Sqlite.Tests;

/// <summary>
/// <see cref="SqliteStore.CommitAsync"/> reads the versions of every record a batch names in one statement per
/// collection (keys passed as a JSON array) before it writes: keys must match exactly, expired records must count as
/// missing, and a conflict anywhere must leave nothing written.
/// </summary>
public sealed class SqliteStoreBatchTests : IDisposable
{
    private static readonly string[] HostileKeys =
    [
        "é", "e\u0301", "日本", "😀", "👨‍👩‍👧", "\U0010FFFF", "\uE000", "\uFFFD", "Key", "key", "KEY",
        "\"quoted\"", "back\\slash", "tab\tkey", "new\nline", "cr\rlf", "\u0001control", "\u001F", "\u007F", "\u2028\u2029",
        "[1]", "{\"a\":1}", "$.a", "%41", " ", "trailing ", "<script>", "&amp;", "'", "0", "-1", "null", "true",
        new string('k', 512), string.Concat(Enumerable.Repeat("😀", 256)),
    ];

    private readonly TempDirectory _root = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    private string DataSource => _root.Combine("store.db");

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public void Dispose() => _root.Dispose();

    [Fact]
    public async Task CommitAsync_HostileKeysOverExistingRecords_FindsEachRecordsVersion()
    {
        await using var store = Open();
        for (var i = 0; i < HostileKeys.Length; i++)
        {
            // Key i is at version 1 + i % 3, so a key matched to another record's row shows up as a wrong version.
            for (var write = 0; write <= i % 3; write++)
            {
                await store.PutAsync("hostile", HostileKeys[i], Json(i), cancellationToken: Token);
            }
        }

        var puts = new WriteBatch();
        var checks = new WriteBatch();
        var conditional = new WriteBatch();
        foreach (var key in HostileKeys)
        {
            puts.Put("hostile", key, Json(-1));
        }

        var afterPuts = await store.CommitAsync(puts, Token);

        afterPuts.Should().Equal(HostileKeys.Select((_, i) => 2L + (i % 3)), "each put moves its own record one version on");
        for (var i = 0; i < HostileKeys.Length; i++)
        {
            checks.Check("hostile", HostileKeys[i], 2L + (i % 3));
            conditional.Put("hostile", HostileKeys[i], Json(i), new PutOptions { ExpectedVersion = 2L + (i % 3) });
        }

        (await store.CommitAsync(checks, Token)).Should().Equal(afterPuts);
        (await store.CommitAsync(conditional, Token)).Should().Equal(afterPuts.Select(v => v + 1));
        for (var i = 0; i < HostileKeys.Length; i++)
        {
            var entry = await store.GetAsync("hostile", HostileKeys[i], Token);
            entry.Should().NotBeNull();
            entry!.Version.Should().Be(3L + (i % 3), $"key #{i} was written three times more");
            Encoding.UTF8.GetString(entry.Payload.Span).Should().Be($"{{\"n\":{i}}}");
        }

        RowCount().Should().Be(HostileKeys.Length, "no batch created a row for a key it failed to match");
    }

    [Fact]
    public async Task CommitAsync_OverExpiredRecords_TreatsThemAsMissing()
    {
        await using var store = Open();
        var ttl = new PutOptions { TimeToLive = TimeSpan.FromMinutes(1) };
        foreach (var key in new[] { "put", "create", "delete", "check" })
        {
            await store.PutAsync("ttl", key, Json(1), ttl, Token);
            await store.PutAsync("ttl", key, Json(2), ttl, Token);
        }

        _time.Advance(TimeSpan.FromMinutes(2));
        var now = _time.GetUtcNow();
        var batch = new WriteBatch()
            .Put("ttl", "put", Json(3))
            .Put("ttl", "create", Json(3), new PutOptions { ExpectedVersion = 0 })
            .Delete("ttl", "delete")
            .Check("ttl", "check", 0);

        var results = await store.CommitAsync(batch, Token);

        results.Should().Equal([1L, 1L, 0L, 0L], "an expired record is missing: a put over it starts again at version 1");
        foreach (var key in new[] { "put", "create" })
        {
            var entry = await store.GetAsync("ttl", key, Token);
            entry.Should().NotBeNull();
            entry!.Version.Should().Be(1);
            entry.CreatedAt.Should().Be(now, "a record written over an expired one is created by the batch");
            entry.ExpiresAt.Should().BeNull();
        }

        RowCount().Should().Be(3, "the delete reclaimed the expired row; the checked one stays until purged");
    }

    [Fact]
    public async Task CommitAsync_ExpectationOnExpiredRecord_ConflictsAsMissing()
    {
        await using var store = Open();
        await store.PutAsync("ttl", "k", Json(1), new PutOptions { TimeToLive = TimeSpan.FromMinutes(1) }, Token);
        await store.PutAsync("ttl", "other", Json(1), cancellationToken: Token);
        _time.Advance(TimeSpan.FromMinutes(2));
        var batch = new WriteBatch().Put("ttl", "other", Json(2)).Put("ttl", "k", Json(2), new PutOptions { ExpectedVersion = 1 });

        var act = async () => await store.CommitAsync(batch, Token);

        var ex = (await act.Should().ThrowAsync<ConcurrencyConflictException>()).Which;
        ex.Key.Should().Be("k");
        ex.ExpectedVersion.Should().Be(1);
        ex.ActualVersion.Should().BeNull("the expired record is missing");
        (await store.GetAsync("ttl", "other", Token))!.Version.Should().Be(1, "nothing of the batch was written");
    }

    [Fact]
    public async Task CommitAsync_LargeBatchAcrossCollectionsEndingInConflict_WritesNothing()
    {
        await using var store = Open();
        var seed = new WriteBatch();
        for (var i = 0; i < 3000; i++)
        {
            seed.Put($"c{i % 3}", $"k{i:D5}", Json(i));
        }

        (await store.CommitAsync(seed, Token)).Should().AllBeEquivalentTo(1L);
        WriteBatch Batch(long checkedVersion)
        {
            var batch = new WriteBatch();
            for (var i = 2; i < 4000; i++)
            {
                // Every third put is conditional; keys from 3000 on are new.
                batch.Put($"c{i % 3}", $"k{i:D5}", Json(-i), i % 3 == 0 ? new PutOptions { ExpectedVersion = i < 3000 ? 1 : 0 } : null);
            }

            return batch.Delete("c0", "k00000").Check("c1", "k00001", checkedVersion);
        }

        var act = async () => await store.CommitAsync(Batch(checkedVersion: 7), Token);

        var ex = (await act.Should().ThrowAsync<ConcurrencyConflictException>()).Which;
        (ex.Collection, ex.Key, ex.ActualVersion).Should().Be(("c1", "k00001", 1L));
        RowCount().Should().Be(3000);
        VersionSum().Should().Be(3000, "no record moved past version 1");

        var results = await store.CommitAsync(Batch(checkedVersion: 1), Token);

        results.Take(3998).Should().Equal(Enumerable.Range(2, 3998).Select(i => i < 3000 ? 2L : 1L));
        results.Skip(3998).Should().Equal([1L, 1L], "the delete reports the version it removed, the check the version it saw");
        RowCount().Should().Be(3999);
        (await store.GetAsync("c0", "k00000", Token)).Should().BeNull();
    }

    [Theory]
    [InlineData(SqliteJournalMode.Wal)]
    [InlineData(SqliteJournalMode.Delete)]
    public async Task CommitAsync_LargeBatchOfUnconditionalPuts_GivesEachRecordItsNextVersion(SqliteJournalMode journalMode)
    {
        // A batch this large has its JSON flags computed ahead on another core, and writes through the row statements
        // at the versions read before the first write; in either journal mode it must agree with what single puts do.
        await using var store = new SqliteStore(new SqliteStoreOptions { DataSource = DataSource, JournalMode = journalMode }, timeProvider: _time);
        var count = PlainJsonFlags.Threshold + 344;
        for (var i = 0; i < 400; i++)
        {
            await store.PutAsync($"c{i % 2}", $"k{i:D4}", Json(i), i >= 300 ? new PutOptions { TimeToLive = TimeSpan.FromMinutes(1) } : null, Token);
        }

        for (var i = 0; i < 100; i++)
        {
            await store.PutAsync($"c{i % 2}", $"k{i:D4}", Json(-i), cancellationToken: Token);
        }

        var seeded = _time.GetUtcNow();
        _time.Advance(TimeSpan.FromMinutes(2));
        var batch = new WriteBatch();
        for (var i = 0; i < count; i++)
        {
            batch.Put($"c{i % 2}", $"k{i:D4}", Json(i * 10), i % 5 == 0 ? new PutOptions { TimeToLive = TimeSpan.FromHours(1) } : null);
        }

        var results = await store.CommitAsync(batch, Token);

        // k0000-k0099 were at version 2, k0100-k0299 at 1, k0300-k0399 had expired, the rest did not exist.
        var expected = Enumerable.Range(0, count).Select(i => i < 100 ? 3L : i < 300 ? 2L : 1L).ToArray();
        results.Should().Equal(expected);
        for (var i = 0; i < count; i++)
        {
            var entry = (await store.GetAsync($"c{i % 2}", $"k{i:D4}", Token))!;
            entry.Version.Should().Be(expected[i], $"k{i:D4}");
            entry.CreatedAt.Should().Be(i < 300 ? seeded : _time.GetUtcNow(), $"k{i:D4} keeps its creation time only when it was live");
            entry.UpdatedAt.Should().Be(_time.GetUtcNow());
            entry.ExpiresAt.Should().Be(i % 5 == 0 ? _time.GetUtcNow().AddHours(1) : null);
            entry.Payload.ToArray().Should().Equal(Json(i * 10));
        }

        RowCount().Should().Be(count);
    }

    [Fact]
    public async Task WritesFailingInsideSqlite_HalfWayThroughABatch_RollBackEverythingAndLeaveTheStoreWorking()
    {
        await using var store = Open();
        for (var i = 0; i < 10; i++)
        {
            await store.PutAsync("c", $"k{i:D5}", Json(-1), cancellationToken: Token);
        }

        // Another connection makes SQLite refuse one key, as a full disk or a constraint would refuse a row: the row
        // statements must report it, and the store must roll back the rows the batch had already written.
        Execute("CREATE TRIGGER refuse BEFORE INSERT ON entries WHEN NEW.key = 'k00600' BEGIN SELECT RAISE(ABORT, 'refused by test trigger'); END");
        var batch = new WriteBatch();
        var entries = new List<StoreEntry>();
        for (var i = 0; i < 1000; i++)
        {
            batch.Put("c", $"k{i:D5}", Json(i));
            entries.Add(new StoreEntry("c", $"k{i:D5}", Json(i), 5, _time.GetUtcNow(), _time.GetUtcNow(), null));
        }

        var commit = async () => await store.CommitAsync(batch, Token);
        var import = async () => await store.ImportAsync(entries, ImportMode.Overwrite, Token);
        var put = async () => await store.PutAsync("c", "k00600", Json(600), cancellationToken: Token);

        (await commit.Should().ThrowAsync<PersistenceException>()).WithMessage("*refused by test trigger*");
        (await import.Should().ThrowAsync<PersistenceException>()).WithMessage("*refused by test trigger*");
        (await put.Should().ThrowAsync<PersistenceException>()).WithMessage("*refused by test trigger*");
        RowCount().Should().Be(10);
        VersionSum().Should().Be(10, "the ten records before the refused key were rewritten and rolled back");
        (await store.GetAsync("c", "k00000", Token))!.Payload.ToArray().Should().Equal(Json(-1));

        Execute("DROP TRIGGER refuse");
        var results = await store.CommitAsync(batch, Token);

        results.Should().Equal(Enumerable.Range(0, 1000).Select(i => i < 10 ? 2L : 1L));
        RowCount().Should().Be(1000);
        (await store.ImportAsync(entries, ImportMode.Overwrite, Token)).Imported.Should().Be(1000);
        VersionSum().Should().Be(5000);
        (await store.PutAsync("c", "k00600", Json(600), cancellationToken: Token)).Should().Be(6);
    }

    private static byte[] Json(int n) => Encoding.UTF8.GetBytes($"{{\"n\":{n}}}");

    private void Execute(string sql) => Run(sql, command => command.ExecuteNonQuery());

    private SqliteStore Open() => new(new SqliteStoreOptions { DataSource = DataSource }, timeProvider: _time);

    private long RowCount() => Scalar("SELECT count(*) FROM entries");

    private long VersionSum() => Scalar("SELECT sum(version) FROM entries");

    private long Scalar(string sql) => (long)Run(sql, command => command.ExecuteScalar())!;

    // Runs one statement on a connection of its own, beside the store's.
    private T Run<T>(string sql, Func<SqliteCommand, T> execute)
    {
        using var connection = new SqliteConnection($"Data Source={DataSource};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return execute(command);
    }
}
