using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using FluentAssertions;
using Npgsql;
using Persistence.Testing.Postgres;

namespace Persistence.Stores.Postgres.Tests;

/// <summary>Errors from the server: a server stopped and restarted under load, and a statement past its timeout.</summary>
public sealed class PostgresStoreFaultTests(PostgresFixture postgres)
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(60);

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Workload_ServerStoppedImmediatelyAndRestarted_FailsClearlyRecoversAndLosesNoAcknowledgedWrite()
    {
        // A server of its own: stopping the shared one would fail the other tests.
        await using var server = await PostgresServer.StartAsync();
        var connection = await server.CreateDatabaseAsync("faults");
        await using var store = new PostgresStore(new PostgresStoreOptions { ConnectionString = connection + ";Timeout=5", CommandTimeout = TimeSpan.FromSeconds(10) });
        var acknowledged = new ConcurrentDictionary<string, long>();
        var errors = new ConcurrentQueue<Exception>();
        using var stop = new CancellationTokenSource();

        var writers = Enumerable.Range(0, 2).Select(w => Task.Run(async () =>
        {
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                var key = $"w{w}-{i}";
                try
                {
                    var version = await store.PutAsync("items", key, Encoding.UTF8.GetBytes($"{{\"i\":{i}}}"), cancellationToken: Token);
                    acknowledged[key] = version;
                    (await store.GetAsync("items", key, Token)).Should().NotBeNull();
                }
                catch (Exception ex)
                {
                    errors.Enqueue(ex);
                    await Task.Delay(20, Token);
                }
            }
        })).ToArray();

        await WaitUntil(() => acknowledged.Count >= 50, "50 writes before the stop");
        await server.StopImmediatelyAsync();
        await WaitUntil(() => errors.Count >= 2, "errors while the server is down");
        var acknowledgedWhileDown = acknowledged.Count;
        await server.StartServerAsync();
        await WaitUntil(() => acknowledged.Count >= acknowledgedWhileDown + 50, "50 writes after the restart");
        await stop.CancelAsync();
        await Task.WhenAll(writers);

        errors.Should().AllBeOfType<StoreUnavailableException>("every failure of an unreachable or restarting server is StoreUnavailableException");
        errors.Should().AllSatisfy(e => e.InnerException.Should().BeAssignableTo<NpgsqlException>());
        errors.First().Message.Should().Contain($"127.0.0.1:{server.Port}");
        var stored = await store.GetManyAsync("items", acknowledged.Keys.ToList(), Token);
        stored.Should().AllSatisfy(entry => entry.Should().NotBeNull("an acknowledged write survives the crash"));
        stored.Select(e => (e!.Key, e.Version)).Should().BeEquivalentTo(acknowledged.Select(a => (a.Key, a.Value)));
    }

    [Fact]
    public async Task PutAsync_RowLockedPastTheCommandTimeout_ThrowsStoreUnavailableNamingTheTimeout()
    {
        await using var store = new PostgresStore(postgres.Options() is var options ? Configure(options) : null!);
        await store.PutAsync("items", "held", Encoding.UTF8.GetBytes("1"), cancellationToken: Token);
        await using var holder = new NpgsqlConnection(postgres.ConnectionString);
        await holder.OpenAsync(Token);
        await using var transaction = await holder.BeginTransactionAsync(Token);
        await using (var lockRow = new NpgsqlCommand($"SELECT 1 FROM \"{store.Schema}\".entries WHERE key = 'held' FOR UPDATE", holder, transaction))
        {
            await lockRow.ExecuteNonQueryAsync(Token);
        }

        var act = async () => await store.PutAsync("items", "held", Encoding.UTF8.GetBytes("2"), cancellationToken: Token);

        var thrown = await act.Should().ThrowAsync<StoreUnavailableException>();
        thrown.Which.Message.Should().Contain("command timeout");
        thrown.Which.InnerException.Should().BeOfType<PostgresException>().Which.SqlState.Should().Be(PostgresErrorCodes.QueryCanceled);
        await transaction.RollbackAsync(Token);
        (await store.PutAsync("items", "held", Encoding.UTF8.GetBytes("3"), cancellationToken: Token)).Should().Be(2);

        static PostgresStoreOptions Configure(PostgresStoreOptions options)
        {
            options.CommandTimeout = TimeSpan.FromSeconds(1);
            return options;
        }
    }

    private static async Task WaitUntil(Func<bool> condition, string what)
    {
        var watch = Stopwatch.StartNew();
        while (!condition())
        {
            watch.Elapsed.Should().BeLessThan(Guard, $"waiting for {what}");
            await Task.Delay(20, Token);
        }
    }
}
