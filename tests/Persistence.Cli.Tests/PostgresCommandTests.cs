using FluentAssertions;
using Persistence.Testing.Postgres;

namespace Persistence.Cli.Tests;

/// <summary>One throw-away PostgreSQL server for the tool's PostgreSQL tests.</summary>
public sealed class PostgresServerFixture : IAsyncLifetime
{
    private PostgresServer? _server;

    public string ConnectionString { get; private set; } = string.Empty;

    public async ValueTask InitializeAsync()
    {
        _server = await PostgresServer.StartAsync();
        await _server.CreateDatabaseAsync("cli");
        ConnectionString = _server.ConnectionString("cli");
    }

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}

/// <summary>The tool on a real PostgreSQL server, named by both URI forms.</summary>
[Trait("Category", "RequiresPostgresServer")]
public sealed class PostgresCommandTests(PostgresServerFixture postgres) : IClassFixture<PostgresServerFixture>, IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task Migrate_FromSqliteToPostgres_ThenBackupRestoresIntoJson()
    {
        var sqlite = "sqlite:" + _temp.Combine("app.db");
        var pg = "postgres:" + postgres.ConnectionString;
        await Stores.SeedAsync(sqlite, Stores.Sample);
        var archive = _temp.Combine("pg.pbak");
        var json = "json:" + _temp.Combine("restored");

        var migrated = (await PersistTool.RunAsync("migrate", sqlite, pg, "--verify", "--json")).ShouldExitWith(0).Json();
        (await PersistTool.RunAsync("backup", pg, archive)).ShouldExitWith(0);
        (await PersistTool.RunAsync("restore", archive, json)).ShouldExitWith(0);
        var got = (await PersistTool.RunAsync("get", pg, "users", "alice", "--json")).ShouldExitWith(0).Json();

        migrated.GetProperty("entriesCopied").GetInt64().Should().Be(5);
        migrated.GetProperty("verified").GetBoolean().Should().BeTrue();
        (await Stores.SnapshotAsync(pg)).Should().Equal(await Stores.SnapshotAsync(sqlite));
        (await Stores.SnapshotAsync(json)).Should().Equal(await Stores.SnapshotAsync(sqlite));
        got.GetProperty("version").GetInt64().Should().Be(1);
    }
}
