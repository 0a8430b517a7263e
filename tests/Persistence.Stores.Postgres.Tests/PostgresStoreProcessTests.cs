using System.Globalization;
using System.Text;
using FluentAssertions;
using Persistence.Stores.Json.Tests;

namespace Persistence.Stores.Postgres.Tests;

/// <summary>Several processes on one table: compare-and-set increments and concurrent first starts.</summary>
public sealed class PostgresStoreProcessTests(PostgresFixture postgres)
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(90);

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task PutAsync_CasIncrementsFromTwoProcesses_LoseNoUpdate()
    {
        const int increments = 100;
        var schema = postgres.UniqueSchema();
        string[] keys = ["a", "b"];
        using var first = WorkerProcess.Start(["postgres-cas", postgres.ConnectionString, schema, increments.ToString(CultureInfo.InvariantCulture), .. keys]);
        using var second = WorkerProcess.Start(["postgres-cas", postgres.ConnectionString, schema, increments.ToString(CultureInfo.InvariantCulture), .. keys]);

        await first.WaitForAsync("done", Guard);
        await second.WaitForAsync("done", Guard);
        first.WaitForExit(Guard).Should().Be(0, first.Errors);
        second.WaitForExit(Guard).Should().Be(0, second.Errors);

        await using var store = new PostgresStore(new PostgresStoreOptions { ConnectionString = postgres.ConnectionString, Schema = schema });
        foreach (var key in keys)
        {
            var counter = await store.GetAsync("counters", key, Token);
            Encoding.UTF8.GetString(counter!.Payload.Span).Should().Be((2 * increments).ToString(CultureInfo.InvariantCulture), $"counter '{key}'");
            counter.Version.Should().Be(2 * increments);
        }
    }

    [Fact]
    public async Task Constructor_EightProcessesStartingOnAnEmptyDatabase_AllStartOnOneSchema()
    {
        var database = $"first_start_{Guid.NewGuid():N}"[..24];
        var connection = await postgres.Server.CreateDatabaseAsync(database);
        var workers = Enumerable.Range(0, 8).Select(_ => WorkerProcess.Start(["postgres-first-start", connection, "persistence"])).ToList();
        try
        {
            foreach (var worker in workers)
            {
                await worker.WaitForAsync("ready", Guard);
            }

            // All released at once: each creates the schema unless another already holds the advisory lock.
            foreach (var worker in workers)
            {
                worker.WriteLine("go");
            }

            foreach (var worker in workers)
            {
                var line = await worker.ReadLineAsync(Guard);
                line.Should().Be("started", worker.Errors);
            }

            await using var store = new PostgresStore(new PostgresStoreOptions { ConnectionString = connection });
            (await store.CountAsync("items", Token)).Should().Be(8);
        }
        finally
        {
            foreach (var worker in workers)
            {
                worker.Dispose();
            }
        }
    }
}
