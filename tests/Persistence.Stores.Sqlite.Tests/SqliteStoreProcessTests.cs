using System.Globalization;
using System.Text;
using FluentAssertions;
using Microsoft.Data.Sqlite;
using Persistence.Stores.Json.Tests;

namespace Persistence.Stores.Sqlite.Tests;

/// <summary>Crash and multi-process behaviour, proved with real child processes killed with SIGKILL.</summary>
public sealed class SqliteStoreProcessTests : IDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);
    private readonly TempDirectory _root = new();

    private string DataSource => _root.Combine("store.db");

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _root.Dispose();
    }

    [Theory]
    [InlineData(SqliteSynchronousMode.Normal)]
    [InlineData(SqliteSynchronousMode.Full)]
    public async Task PutAsync_ProcessKilledMidLoop_DatabaseIsIntactAndEveryAcknowledgedWriteSurvives(SqliteSynchronousMode synchronous)
    {
        var acknowledged = await RunAndKillAsync(acks: 200, "sqlite-put-loop", DataSource, synchronous.ToString());

        IntegrityCheck().Should().Be("ok");
        await using var store = Open();
        await AssertAcknowledgedAsync(store, acknowledged);
        await foreach (var entry in store.ScanAsync("items", cancellationToken: Token))
        {
            Encoding.UTF8.GetString(entry.Payload.Span).Should().StartWith("{\"i\":").And.EndWith("\"}", "every record is whole, never torn");
        }
    }

    [Fact]
    public async Task PutAsync_GroupCommitOn_ProcessKilledWhileSixteenWritersPut_EveryAcknowledgedWriteSurvives()
    {
        var acknowledged = await RunAndKillAsync(acks: 300, "sqlite-group-put-loop", DataSource, "16");

        IntegrityCheck().Should().Be("ok");
        await using var store = Open();
        await AssertAcknowledgedAsync(store, acknowledged);
        await foreach (var entry in store.ScanAsync("items", cancellationToken: Token))
        {
            Encoding.UTF8.GetString(entry.Payload.Span).Should().StartWith("{\"i\":").And.EndWith("\"}", "every record is whole, never torn");
        }
    }

    [Fact]
    public async Task CommitAsync_ProcessKilledMidBatches_BatchesAreAllOrNothing()
    {
        var acknowledged = await RunAndKillAsync(acks: 150, "sqlite-batch-loop", DataSource);

        IntegrityCheck().Should().Be("ok");
        await using var store = Open();
        await AssertAcknowledgedAsync(store, acknowledged);
        long leftVersions = 0;
        for (var slot = 0; slot < 4; slot++)
        {
            var left = await store.GetAsync("left", $"l{slot}", Token);
            var right = await store.GetAsync("right", $"r{slot}", Token);
            (left?.Version ?? 0).Should().Be(right?.Version ?? 0, "both records of a batch are written together or not at all");
            leftVersions += left?.Version ?? 0;
        }

        var count = await store.GetAsync("totals", "count", Token);
        count!.Version.Should().Be(leftVersions, "every batch also moved the total");
        int.Parse(Encoding.UTF8.GetString(count.Payload.Span), CultureInfo.InvariantCulture).Should().Be((int)leftVersions - 1);
    }

    [Fact]
    public async Task PutAsync_TwoProcessesCasIncrementing_EndWithTheExactTotal()
    {
        const int increments = 100;
        string[] keys = ["a", "b", "c"];
        await using (Open())
        {
            // Created before the workers start, so neither races the other to create the schema.
        }

        using var first = WorkerProcess.Start(["sqlite-cas", DataSource, increments.ToString(CultureInfo.InvariantCulture), .. keys]);
        using var second = WorkerProcess.Start(["sqlite-cas", DataSource, increments.ToString(CultureInfo.InvariantCulture), .. keys]);

        await first.WaitForAsync("done", TimeSpan.FromSeconds(90));
        await second.WaitForAsync("done", TimeSpan.FromSeconds(90));
        first.WaitForExit(StartTimeout).Should().Be(0, first.Errors);
        second.WaitForExit(StartTimeout).Should().Be(0, second.Errors);

        await using var store = Open();
        foreach (var key in keys)
        {
            var counter = await store.GetAsync("counters", key, Token);
            Encoding.UTF8.GetString(counter!.Payload.Span).Should().Be((2 * increments).ToString(CultureInfo.InvariantCulture), $"counter '{key}'");
            counter.Version.Should().Be(2 * increments);
        }
    }

    [Fact]
    public async Task PutAsync_AnotherConnectionHoldsTheWriteLock_ThrowsUnavailableNamingThePathAfterTheBusyTimeout()
    {
        await using var store = new SqliteStore(new SqliteStoreOptions { DataSource = DataSource, BusyTimeout = TimeSpan.FromMilliseconds(300) });
        await store.PutAsync("items", "before", Encoding.UTF8.GetBytes("1"), cancellationToken: Token);
        using var holder = new SqliteConnection($"Data Source={DataSource};Pooling=False");
        holder.Open();
        using (var begin = holder.CreateCommand())
        {
            begin.CommandText = "BEGIN IMMEDIATE";
            begin.ExecuteNonQuery();
        }

        var act = async () => await store.PutAsync("items", "blocked", Encoding.UTF8.GetBytes("2"), cancellationToken: Token);

        var thrown = await act.Should().ThrowAsync<StoreUnavailableException>();
        thrown.Which.Message.Should().Contain(store.DataSource);
        thrown.Which.InnerException.Should().BeOfType<SqliteException>();
        (await store.GetAsync("items", "before", Token)).Should().NotBeNull("in WAL mode readers do not wait for a writer");
        using (var rollback = holder.CreateCommand())
        {
            rollback.CommandText = "ROLLBACK";
            rollback.ExecuteNonQuery();
        }

        (await store.PutAsync("items", "after", Encoding.UTF8.GetBytes("3"), cancellationToken: Token)).Should().Be(1);
        (await store.GetAsync("items", "blocked", Token)).Should().BeNull();
    }

    [Fact]
    public async Task Operations_TwoStoresOnOneFileUnderConcurrentLoad_NeverSurfaceALockError()
    {
        await using var one = Open();
        await using var two = Open();
        var stores = new[] { one, two };

        var workers = Enumerable.Range(0, 8).Select(t => Task.Run(
            async () =>
            {
                var store = stores[t % 2];
                for (var i = 0; i < 40; i++)
                {
                    await store.PutAsync("load", $"t{t}-{i:D2}", Encoding.UTF8.GetBytes($"{{\"t\":{t},\"i\":{i}}}"), cancellationToken: Token);
                    await store.CommitAsync(new WriteBatch().Put("load-batches", $"t{t}-{i:D2}", Encoding.UTF8.GetBytes("{}")).Put("load-batches", $"t{t}-{i:D2}-b", Encoding.UTF8.GetBytes("{}")), Token);
                    _ = await store.GetAsync("load", $"t{t}-{i:D2}", Token);
                    _ = await store.CountAsync("load", Token);
                }
            },
            Token));
        await Task.WhenAll(workers);

        (await one.CountAsync("load", Token)).Should().Be(8 * 40);
        (await two.CountAsync("load-batches", Token)).Should().Be(8 * 40 * 2);
    }

    [Fact]
    public async Task Constructor_EightProcessesOpenOneNewFileAtOnce_EveryOpenSucceeds()
    {
        // Each round every worker is told at once to open the same new files (several per round, each on a thread of its
        // own, so a round costs little more than one file). Before the schema was read in one snapshot and created under
        // the write lock, about one open in 500 here failed: the creator's application_id read as another application's.
        // PERSISTENCE_SQLITE_OPEN_ROUNDS raises the number of rounds for a longer run.
        const int workers = 8;
        const int filesPerRound = 4;
        var rounds = int.TryParse(Environment.GetEnvironmentVariable("PERSISTENCE_SQLITE_OPEN_ROUNDS"), out var r) && r > 0 ? r : 50;
        var started = Enumerable.Range(0, workers)
            .Select(id => WorkerProcess.Start("sqlite-open-race", _root.Path, id.ToString(CultureInfo.InvariantCulture)))
            .ToList();
        try
        {
            foreach (var worker in started)
            {
                await worker.WaitForAsync("ready", StartTimeout);
            }

            var failures = new List<string>();
            var failedOpens = 0;
            for (var round = 0; round < rounds; round++)
            {
                foreach (var worker in started)
                {
                    worker.WriteLine($"go {round} {filesPerRound}");
                }

                foreach (var worker in started)
                {
                    var line = await worker.WaitForAsync($"round {round} ", StartTimeout);
                    if (line != $"round {round} ok")
                    {
                        failures.Add(line);
                        failedOpens += int.Parse(line.Split(' ')[3], CultureInfo.InvariantCulture);
                    }
                }
            }

            failures.Should().BeEmpty($"{failedOpens} of {rounds * filesPerRound * workers} opens failed");
            for (var round = 0; round < rounds; round++)
            {
                for (var file = 0; file < filesPerRound; file++)
                {
                    using var connection = new SqliteConnection($"Data Source={_root.Combine($"round-{round}-{file}.db")};Pooling=False");
                    connection.Open();
                    Scalar(connection, "PRAGMA user_version").Should().Be(SqliteSchema.CurrentVersion);
                    Scalar(connection, "PRAGMA application_id").Should().Be(SqliteSchema.ApplicationId);
                    Scalar(connection, "SELECT count(*) FROM entries").Should().Be(workers, $"every worker wrote its record to file {file} of round {round}");
                }
            }
        }
        finally
        {
            foreach (var worker in started)
            {
                worker.Dispose();
            }
        }
    }

    private SqliteStore Open() => new(new SqliteStoreOptions { DataSource = DataSource });

    private static long Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return (long)command.ExecuteScalar()!;
    }

    private string IntegrityCheck()
    {
        using var connection = new SqliteConnection($"Data Source={DataSource};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA integrity_check";
        return (string)command.ExecuteScalar()!;
    }

    private static async Task<Dictionary<(string Collection, string Key), long>> RunAndKillAsync(int acks, params string[] args)
    {
        using var worker = WorkerProcess.Start(args);
        await worker.WaitForAsync("ready", StartTimeout);
        for (var i = 0; i < acks; i++)
        {
            await worker.WaitForAsync("ack ", StartTimeout);
        }

        // Kill at a moment the test does not choose, so the kill lands inside a write as often as between two.
        await Task.Delay(Random.Shared.Next(0, 30), Token);
        worker.Kill();

        var acknowledged = new Dictionary<(string, string), long>();
        foreach (var line in worker.Lines.Where(l => l.StartsWith("ack ", StringComparison.Ordinal)))
        {
            var parts = line.Split(' ');
            var target = (parts[1], parts[2]);
            acknowledged[target] = Math.Max(long.Parse(parts[3], CultureInfo.InvariantCulture), acknowledged.GetValueOrDefault(target));
        }

        acknowledged.Should().NotBeEmpty();
        return acknowledged;
    }

    private static async Task AssertAcknowledgedAsync(SqliteStore store, Dictionary<(string Collection, string Key), long> acknowledged)
    {
        foreach (var ((collection, key), version) in acknowledged)
        {
            var entry = await store.GetAsync(collection, key, Token);
            entry.Should().NotBeNull($"'{collection}/{key}' was acknowledged at version {version}");
            entry!.Version.Should().BeGreaterThanOrEqualTo(version, $"'{collection}/{key}' was acknowledged at version {version}");
        }
    }
}
