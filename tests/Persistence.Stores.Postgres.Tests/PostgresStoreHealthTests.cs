using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace Persistence.Stores.Postgres.Tests;

/// <summary>The store's health probe (<see cref="IStoreHealthProbe"/>), seen through <c>AddPersistenceStores()</c>.</summary>
public sealed class PostgresStoreHealthTests(PostgresFixture postgres)
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task HealthCheck_ReadsTheTable_AndIsUnhealthyOnceTheTableIsGone()
    {
        var schema = postgres.UniqueSchema();
        var services = new ServiceCollection();
        services.AddSingleton<ILoggerFactory>(NullLoggerFactory.Instance);
        services.AddSingleton(typeof(ILogger<>), typeof(NullLogger<>));
        services.AddPersistence().AddPostgresStore("orders", o =>
        {
            o.ConnectionString = postgres.ConnectionString;
            o.Schema = schema;
        });
        services.AddHealthChecks().AddPersistenceStores();
        await using var provider = services.BuildServiceProvider();
        var checks = provider.GetRequiredService<HealthCheckService>();
        provider.GetRequiredKeyedService<IStore>("orders").Unwrap<PostgresStore>().Should().BeAssignableTo<IStoreHealthProbe>("the store probes itself");

        var up = (await checks.CheckHealthAsync(Token)).Entries["persistence:orders"];

        up.Status.Should().NotBe(HealthStatus.Unhealthy, up.Description);
        up.Description.Should().Contain("answered a read").And.Contain(schema);
        up.Data["readMilliseconds"].Should().BeOfType<double>();
        up.Data["table"].Should().Be($"\"{schema}\".\"entries\"");

        await using (var connection = new NpgsqlConnection(postgres.ConnectionString))
        {
            await connection.OpenAsync(Token);
            await using var drop = new NpgsqlCommand($"DROP TABLE \"{schema}\".entries", connection);
            await drop.ExecuteNonQueryAsync(Token);
        }

        var down = (await checks.CheckHealthAsync(Token)).Entries["persistence:orders"];

        down.Status.Should().Be(HealthStatus.Unhealthy);
        down.Data["store"].Should().Be("orders");
        down.Exception.Should().BeAssignableTo<PersistenceException>();
    }
}
