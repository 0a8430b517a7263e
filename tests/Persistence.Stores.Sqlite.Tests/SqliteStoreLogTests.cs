using System.Diagnostics;
using System.Text;
using FluentAssertions;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Persistence.Diagnostics;

namespace Persistence.Stores.Sqlite.Tests;

/// <summary>What the SQLite store tells an operator through its logger (event ids 6300–6399).</summary>
public sealed class SqliteStoreLogTests : IDisposable
{
    private readonly TempDirectory _root = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly RecordingLogger _logger = new();

    private string DataSource => _root.Combine("store.db");

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public void Dispose() => _root.Dispose();

    [Fact]
    public async Task Constructor_NewFile_LogsTheSchemaCreation()
    {
        await using var store = new SqliteStore(new SqliteStoreOptions { DataSource = DataSource }, "logged", _time, _logger);

        var entry = _logger.Entries.Should().ContainSingle().Subject;
        entry.EventId.Id.Should().Be(6301);
        entry.Level.Should().Be(LogLevel.Information);
        entry.Message.Should().Contain("'logged'").And.Contain($"version {SqliteSchema.CurrentVersion}").And.Contain(DataSource);
    }

    [Fact]
    public async Task Constructor_CurrentSchema_LogsNothing()
    {
        await using (new SqliteStore(new SqliteStoreOptions { DataSource = DataSource }))
        {
        }

        await using var store = new SqliteStore(new SqliteStoreOptions { DataSource = DataSource }, "logged", _time, _logger);

        _logger.Entries.Should().BeEmpty();
    }

    [Fact]
    public async Task Constructor_SchemaVersionOne_LogsTheMigration()
    {
        using (var connection = new SqliteConnection($"Data Source={DataSource};Pooling=False"))
        {
            connection.Open();
            foreach (var statement in SqliteSchema.Migrations[0])
            {
                Execute(connection, statement);
            }

            Execute(connection, "PRAGMA user_version = 1");
        }

        await using var store = new SqliteStore(new SqliteStoreOptions { DataSource = DataSource }, "logged", _time, _logger);

        var entry = _logger.Entries.Should().ContainSingle().Subject;
        entry.EventId.Id.Should().Be(6302);
        entry.Level.Should().Be(LogLevel.Information);
        entry.Message.Should().Contain($"from schema version 1 to {SqliteSchema.CurrentVersion}");
    }

    [Fact]
    public async Task CommitAsync_AnotherConnectionHoldsTheLockPastTheBusyTimeout_LogsTheBusyTimeout()
    {
        await using var store = new SqliteStore(new SqliteStoreOptions { DataSource = DataSource, BusyTimeout = TimeSpan.FromMilliseconds(1) }, "logged", _time, _logger);
        using var other = new SqliteConnection($"Data Source={DataSource};Pooling=False");
        other.Open();
        Execute(other, "BEGIN IMMEDIATE");

        var commit = async () => await store.CommitAsync(new WriteBatch().Put("c", "k", Encoding.UTF8.GetBytes("1")), Token);

        await commit.Should().ThrowAsync<StoreUnavailableException>();
        Execute(other, "ROLLBACK");
        var entry = _logger.Entries.Should().ContainSingle(e => e.EventId.Id == 6303).Subject;
        entry.Level.Should().Be(LogLevel.Warning);
        entry.Exception.Should().BeOfType<SqliteException>();
        entry.Message.Should().Contain("busy timeout of 1 ms").And.Contain(DataSource);
    }

    [Fact]
    public async Task CommitAsync_WaitForTheWriteLockOverTheThreshold_LogsAWarningWithTheDuration()
    {
        await using var store = new SqliteStore(new SqliteStoreOptions { DataSource = DataSource }, "logged", _time, _logger);
        _logger.Entries.Should().ContainSingle(e => e.EventId.Id == 6301);
        store.LockWaitWarningThreshold = TimeSpan.FromTicks(1);
        using var other = new SqliteConnection($"Data Source={DataSource};Pooling=False");
        other.Open();
        Execute(other, "BEGIN IMMEDIATE");

        var commit = Task.Run(async () => await store.CommitAsync(new WriteBatch().Put("c", "k", Encoding.UTF8.GetBytes("1")), Token), Token);
        await Task.Yield();
        Execute(other, "COMMIT");
        await commit;

        var entry = _logger.Entries.Should().ContainSingle(e => e.EventId.Id == 6304).Subject;
        entry.Level.Should().Be(LogLevel.Warning);
        entry.Message.Should().MatchRegex(@"waited \d+ ms for the write lock");
    }

    [Fact]
    public async Task CommitAsync_NoWait_LogsNoLockWait()
    {
        SqliteStore.DefaultLockWaitWarningThreshold.Should().Be(TimeSpan.FromSeconds(1));
        await using var store = new SqliteStore(new SqliteStoreOptions { DataSource = DataSource }, "logged", _time, _logger);

        await store.CommitAsync(new WriteBatch().Put("c", "k", Encoding.UTF8.GetBytes("1")), Token);

        _logger.Entries.Should().NotContain(e => e.EventId.Id == 6304);
    }

    [Fact]
    public async Task PurgeInterval_TimerTicks_LogsHowManyWerePurged()
    {
        await using var store = new SqliteStore(new SqliteStoreOptions { DataSource = DataSource, PurgeInterval = TimeSpan.FromMinutes(5) }, "logged", _time, _logger);
        await store.PutAsync("ttl", "a", Encoding.UTF8.GetBytes("1"), new PutOptions { TimeToLive = TimeSpan.FromMinutes(1) }, Token);
        await store.PutAsync("ttl", "b", Encoding.UTF8.GetBytes("2"), new PutOptions { TimeToLive = TimeSpan.FromMinutes(1) }, Token);
        await store.PutAsync("ttl", "forever", Encoding.UTF8.GetBytes("3"), cancellationToken: Token);

        _time.Advance(TimeSpan.FromMinutes(5));
        _time.Advance(TimeSpan.FromMinutes(5));

        var entry = _logger.Entries.Should().ContainSingle(e => e.EventId.Id == 6305, "a tick that purges nothing logs nothing").Subject;
        entry.Level.Should().Be(LogLevel.Information);
        entry.Message.Should().Contain("purged 2 expired entries in the background");
    }

    [Fact]
    public async Task AddSqliteStore_TakesTheContainersLoggerFactory()
    {
        var services = new ServiceCollection();
        services.AddSingleton<ILoggerFactory>(_logger);
        services.AddPersistence().AddSqliteStore(o => o.DataSource = DataSource);
        await using var provider = services.BuildServiceProvider();

        provider.GetRequiredService<IStore>();

        _logger.Entries.Should().ContainSingle(e => e.EventId.Id == 6301);
    }

    [Fact]
    public async Task Operations_CarryTheSqliteSystemAndTheFileAsNamespace()
    {
        var name = "sqlite-" + Guid.NewGuid().ToString("N");
        using var activities = new StoreActivities(name);
        var services = new ServiceCollection();
        services.AddPersistence().AddSqliteStore(name, o => o.DataSource = DataSource);
        await using var provider = services.BuildServiceProvider();

        await provider.GetRequiredKeyedService<IStore>(name).GetAsync("items", "a", Token);

        var activity = activities.Stopped.Should().ContainSingle().Subject;
        activity.Kind.Should().Be(ActivityKind.Internal, "SQLite runs in process");
        activity.DisplayName.Should().Be("get items");
        activity.GetTagItem("db.system.name").Should().Be("sqlite");
        activity.GetTagItem("db.namespace").Should().Be(Path.GetFullPath(DataSource));
        activity.GetTagItem("server.address").Should().BeNull();
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
