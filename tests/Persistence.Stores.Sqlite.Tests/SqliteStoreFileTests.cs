using System.Security.Cryptography;
using System.Text;
using FluentAssertions;
using Microsoft.Data.Sqlite;

namespace Persistence.Stores.Sqlite.Tests;

/// <summary>What the store does with the file it finds: damaged files, other applications' databases, older and newer schemas.</summary>
public sealed class SqliteStoreFileTests : IDisposable
{
    private readonly TempDirectory _root = new();

    private string DataSource => _root.Combine("store.db");

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public void Dispose() => _root.Dispose();

    [Theory]
    [InlineData("text")]
    [InlineData("random")]
    [InlineData("truncated-header")]
    public void Constructor_FileIsNotADatabase_ThrowsCorruptedNamingThePathAndLeavesTheFileAlone(string kind)
    {
        var content = kind switch
        {
            "text" => Encoding.UTF8.GetBytes("{\"this\": \"is a JSON file, not a database\"}\n"),
            "random" => RandomBytes(64 * 1024),
            _ => Encoding.ASCII.GetBytes("SQLite format 3\0").Concat(RandomBytes(40)).ToArray(),
        };
        File.WriteAllBytes(DataSource, content);
        var before = SHA256.HashData(File.ReadAllBytes(DataSource));

        var act = () => new SqliteStore(new SqliteStoreOptions { DataSource = DataSource });

        var thrown = act.Should().Throw<StoreCorruptedException>().Which;
        thrown.Path.Should().Be(DataSource);
        thrown.Message.Should().Contain(DataSource);
        SHA256.HashData(File.ReadAllBytes(DataSource)).Should().Equal(before, "a file the store cannot read is never written to");
    }

    [Fact]
    public async Task Operations_DataPagesDamaged_ThrowCorruptedNamingThePathAndLeaveTheFileAlone()
    {
        await using (var store = new SqliteStore(new SqliteStoreOptions { DataSource = DataSource }))
        {
            for (var i = 0; i < 200; i++)
            {
                await store.PutAsync("items", $"k{i:D3}", Encoding.UTF8.GetBytes(new string('x', 2000)), cancellationToken: Token);
            }
        }

        SqliteConnection.ClearAllPools();
        var bytes = File.ReadAllBytes(DataSource);
        const int pageSize = 4096;

        // Every page after the schema page becomes garbage: the table's b-tree cannot be read.
        for (var offset = pageSize; offset < bytes.Length; offset++)
        {
            bytes[offset] = 0xA5;
        }

        File.WriteAllBytes(DataSource, bytes);
        var before = SHA256.HashData(bytes);

        var act = async () =>
        {
            await using var store = new SqliteStore(new SqliteStoreOptions { DataSource = DataSource });
            await store.GetAsync("items", "k100", Token);
        };

        var thrown = (await act.Should().ThrowAsync<StoreCorruptedException>()).Which;
        thrown.Path.Should().Be(DataSource);
        SHA256.HashData(File.ReadAllBytes(DataSource)).Should().Equal(before);
    }

    [Fact]
    public void Constructor_AnotherApplicationsDatabase_ThrowsAndLeavesItAlone()
    {
        using (var connection = new SqliteConnection($"Data Source={DataSource};Pooling=False"))
        {
            connection.Open();
            Execute(connection, "CREATE TABLE orders (id INTEGER PRIMARY KEY, total REAL)");
        }

        var before = SHA256.HashData(File.ReadAllBytes(DataSource));

        var act = () => new SqliteStore(new SqliteStoreOptions { DataSource = DataSource });

        act.Should().Throw<PersistenceException>().WithMessage($"*{DataSource}*another application*");
        SHA256.HashData(File.ReadAllBytes(DataSource)).Should().Equal(before);
    }

    [Fact]
    public async Task Constructor_NewerSchema_RefusesWithAClearMessageAndLeavesTheFileAlone()
    {
        await using (new SqliteStore(new SqliteStoreOptions { DataSource = DataSource }))
        {
        }

        using (var connection = new SqliteConnection($"Data Source={DataSource};Pooling=False"))
        {
            connection.Open();
            Execute(connection, $"PRAGMA user_version = {SqliteSchema.CurrentVersion + 1}");
        }

        var before = SHA256.HashData(File.ReadAllBytes(DataSource));

        var act = () => new SqliteStore(new SqliteStoreOptions { DataSource = DataSource });

        act.Should().Throw<PersistenceException>()
            .WithMessage($"*{DataSource}*schema version {SqliteSchema.CurrentVersion + 1}*newer release*up to {SqliteSchema.CurrentVersion}*");
        SHA256.HashData(File.ReadAllBytes(DataSource)).Should().Equal(before);
    }

    [Fact]
    public async Task Constructor_SchemaVersionOne_IsMigratedKeepingEveryRecordAndQueriesRunInSql()
    {
        // A file as the first schema wrote it: no JSON flag column and no expiry index.
        using (var connection = new SqliteConnection($"Data Source={DataSource};Pooling=False"))
        {
            connection.Open();
            foreach (var statement in SqliteSchema.Migrations[0])
            {
                Execute(connection, statement);
            }

            Execute(connection, "PRAGMA user_version = 1");
            Execute(connection, "INSERT INTO entries VALUES ('docs', 'a', CAST('{\"status\":\"active\"}' AS BLOB), 3, 100, 200, NULL)");
            Execute(connection, "INSERT INTO entries VALUES ('docs', 'b', CAST('{\"status\":\"idle\"}' AS BLOB), 1, 100, 100, NULL)");
            Execute(connection, "INSERT INTO entries VALUES ('bin', 'c', x'00FF10', 7, 100, 100, NULL)");
        }

        await using var store = new SqliteStore(new SqliteStoreOptions { DataSource = DataSource });

        var a = await store.GetAsync("docs", "a", Token);
        a!.Version.Should().Be(3);
        a.CreatedAt.UtcTicks.Should().Be(100);
        a.UpdatedAt.UtcTicks.Should().Be(200);
        (await store.GetAsync("bin", "c", Token))!.Payload.ToArray().Should().Equal([0x00, 0xFF, 0x10]);
        var active = new List<string>();
        await foreach (var entry in store.QueryAsync("docs", new Query().Where("status", QueryOperator.Equal, "active"), Token))
        {
            active.Add(entry.Key);
        }

        active.Should().Equal(["a"]);
        store.QueryCounts.Sql.Should().Be(1, "migration flagged the existing JSON payloads");
        using var check = new SqliteConnection($"Data Source={DataSource};Pooling=False");
        check.Open();
        Scalar(check, "PRAGMA user_version").Should().Be(SqliteSchema.CurrentVersion);
        Scalar(check, "SELECT count(*) FROM sqlite_master WHERE name = 'ix_entries_expires'").Should().Be(1);
    }

    [Fact]
    public async Task Constructor_NewFile_CreatesTheCurrentSchemaInWalMode()
    {
        await using var store = new SqliteStore(new SqliteStoreOptions { DataSource = _root.Combine("nested", "dir", "new.db") });
        await store.PutAsync("items", "k", Encoding.UTF8.GetBytes("1"), cancellationToken: Token);

        using var connection = new SqliteConnection($"Data Source={store.DataSource};Pooling=False");
        connection.Open();
        Scalar(connection, "PRAGMA user_version").Should().Be(SqliteSchema.CurrentVersion);
        Scalar(connection, "PRAGMA application_id").Should().Be(SqliteSchema.ApplicationId);
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode";
        ((string)command.ExecuteScalar()!).Should().Be("wal");
    }

    [Fact]
    public async Task Constructor_DeleteJournalMode_IsApplied()
    {
        await using var store = new SqliteStore(new SqliteStoreOptions { DataSource = DataSource, JournalMode = SqliteJournalMode.Delete, Synchronous = SqliteSynchronousMode.Full });
        await store.PutAsync("items", "k", Encoding.UTF8.GetBytes("1"), cancellationToken: Token);

        using var connection = new SqliteConnection($"Data Source={DataSource};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode";
        ((string)command.ExecuteScalar()!).Should().Be("delete");
        File.Exists(DataSource + "-wal").Should().BeFalse();
    }

    private static byte[] RandomBytes(int count)
    {
        var bytes = new byte[count];
        new Random(42).NextBytes(bytes);
        return bytes;
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static long Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return (long)command.ExecuteScalar()!;
    }
}
