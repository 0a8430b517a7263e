using System.Text;
using FluentAssertions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Npgsql;

namespace Persistence.Stores.Postgres.Tests;

/// <summary><c>AddPostgresStore</c>, the <c>postgres</c> configuration provider, store URIs and the options' validation.</summary>
public sealed class PostgresRegistrationTests(PostgresFixture postgres)
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private int Port => postgres.Server.Port;

    [Fact]
    public async Task AddPostgresStore_Configure_RegistersTheDefaultStore()
    {
        var schema = postgres.UniqueSchema();
        var services = new ServiceCollection();
        services.AddPersistence().AddPostgresStore(o =>
        {
            o.ConnectionString = postgres.ConnectionString;
            o.Schema = schema;
            o.Index("templates", "status");
        });
        await using var provider = services.BuildServiceProvider();

        var store = provider.GetRequiredService<IStore>();

        var pg = store.Unwrap<PostgresStore>().Should().BeOfType<PostgresStore>().Subject;
        pg.Name.Should().Be("default");
        pg.Schema.Should().Be(schema);
        pg.TableName.Should().Be("entries");
        pg.Indexes.Should().ContainSingle().Which.Should().Be(new PostgresDocumentIndex("templates", "status"));
        provider.GetRequiredKeyedService<IStore>("default").Should().BeSameAs(store);
        await store.PutAsync("items", "k", Encoding.UTF8.GetBytes("1"), cancellationToken: Token);
        provider.GetRequiredService<IStoreFactory>().Providers.Should().Equal("memory", "postgres");
    }

    [Fact]
    public async Task AddPostgresStore_Named_ResolvesAsKeyedServiceWithTheRegisteredClock()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2030, 5, 1, 0, 0, 0, TimeSpan.Zero));
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(time);
        var (main, cache) = (postgres.UniqueSchema(), postgres.UniqueSchema());
        services.AddPersistence()
            .AddPostgresStore(o => (o.ConnectionString, o.Schema) = (postgres.ConnectionString, main))
            .AddPostgresStore("cache", o => (o.ConnectionString, o.Schema) = (postgres.ConnectionString, cache));
        await using var provider = services.BuildServiceProvider();

        var store = provider.GetRequiredKeyedService<IStore>("cache");
        await store.PutAsync("items", "k", Encoding.UTF8.GetBytes("1"), cancellationToken: Token);

        store.Unwrap<PostgresStore>().Should().BeOfType<PostgresStore>().Which.Schema.Should().Be(cache);
        (await store.GetAsync("items", "k", Token))!.CreatedAt.Should().Be(time.GetUtcNow());
        (await provider.GetRequiredService<IStore>().ExistsAsync("items", "k", Token)).Should().BeFalse();
    }

    [Fact]
    public async Task AddPersistence_Configuration_BuildsPostgresStoresWithBoundOptions()
    {
        var schema = postgres.UniqueSchema();
        var services = new ServiceCollection();
        services.AddPersistence(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Persistence:Default:Provider"] = "postgres",
            ["Persistence:Default:ConnectionString"] = postgres.ConnectionString,
            ["Persistence:Default:Schema"] = schema,
            ["Persistence:Default:TableName"] = "records",
            ["Persistence:Default:CommandTimeout"] = "00:00:05",
        }).Build().GetSection("Persistence")).AddPostgresStoreProvider();
        await using var provider = services.BuildServiceProvider();

        var store = provider.GetRequiredService<IStore>().Unwrap<PostgresStore>().Should().BeOfType<PostgresStore>().Subject;

        store.Schema.Should().Be(schema);
        store.TableName.Should().Be("records");
        store.CommandTimeout.Should().Be(TimeSpan.FromSeconds(5));
        await store.PutAsync("items", "k", Encoding.UTF8.GetBytes("1"), cancellationToken: Token);
        (await Scalar($"SELECT count(*) FROM \"{schema}\".records")).Should().Be(1L);
    }

    [Fact]
    public async Task AddPersistence_Configuration_MissingConnectionString_FailsAtStartupNamingIt()
    {
        var services = new ServiceCollection();
        services.AddPersistence(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Persistence:Default:Provider"] = "postgres",
            ["Persistence:Default:Schema"] = "app",
        }).Build().GetSection("Persistence")).AddPostgresStoreProvider();
        await using var provider = services.BuildServiceProvider();

        FluentActions.Invoking(() => provider.GetRequiredService<IStartupValidator>().Validate())
            .Should().Throw<OptionsValidationException>().Which.Message.Should().ContainAll("'postgres'", "ConnectionString");
    }

    [Fact]
    public async Task StoreFactory_KeywordUri_CreatesAStore()
    {
        var schema = postgres.UniqueSchema();
        await using var provider = Provider();

        await using var store = provider.GetRequiredService<IStoreFactory>().Create($"postgres:Host=127.0.0.1;Port={Port};Database=tests;Username=postgres?Schema={schema}");

        var pg = store.Should().BeOfType<PostgresStore>().Subject;
        pg.Name.Should().Be("postgres");
        (pg.Host, pg.Port, pg.Database, pg.Schema).Should().Be(("127.0.0.1", Port, "tests", schema));
        await store.PutAsync("items", "k", Encoding.UTF8.GetBytes("1"), cancellationToken: Token);
    }

    [Fact]
    public async Task StoreFactory_UrlUri_CreatesAStoreOnTheSameTable()
    {
        var schema = postgres.UniqueSchema();
        await using var provider = Provider();
        var factory = provider.GetRequiredService<IStoreFactory>();

        await using (var first = factory.Create($"postgres:Host=127.0.0.1;Port={Port};Database=tests;Username=postgres?Schema={schema}"))
        {
            await first.PutAsync("items", "k", Encoding.UTF8.GetBytes("1"), cancellationToken: Token);
        }

        await using var store = factory.Create($"postgres://postgres@127.0.0.1:{Port}/tests?Schema={schema}&TableName=entries");

        var pg = store.Should().BeOfType<PostgresStore>().Subject;
        (pg.Host, pg.Port, pg.Database).Should().Be(("127.0.0.1", Port, "tests"));
        (await store.GetAsync("items", "k", Token)).Should().NotBeNull();
    }

    [Theory]
    [InlineData("postgres:", "postgres:Host=localhost")]
    [InlineData("postgres:Database=app", "Host")]
    [InlineData("postgres://", "names no host")]
    [InlineData("postgres://app@db:notaport/app", "port")]
    [InlineData("postgres:Host=db?CommandTimeout=soon", "CommandTimeout")]
    [InlineData("postgres:Host=db?Schema=bad-name", "Schema")]
    public async Task StoreFactory_BadPostgresUri_ThrowsClearly(string uri, string expected)
    {
        await using var provider = Provider();

        FluentActions.Invoking(() => provider.GetRequiredService<IStoreFactory>().Create(uri))
            .Should().Throw<ArgumentException>().Which.Message.Should().Contain(expected);
    }

    [Fact]
    public void StoreFactory_OtherProviders_StillRefuseAnAuthority()
    {
        var services = new ServiceCollection();
        services.AddPersistence().AddPostgresStoreProvider();
        using var provider = services.BuildServiceProvider();

        FluentActions.Invoking(() => provider.GetRequiredService<IStoreFactory>().Create("memory://x"))
            .Should().Throw<ArgumentException>().Which.Message.Should().Contain("'//'");
    }

    [Fact]
    public void Options_Invalid_ListEveryProblem()
    {
        var options = new PostgresStoreOptions { Schema = "1bad", TableName = "x;drop", CommandTimeout = TimeSpan.Zero, PurgeInterval = TimeSpan.Zero };
        options.Indexes.Add(new PostgresDocumentIndex("orders", "a..b"));

        options.GetValidationErrors().Should().HaveCount(6);
        FluentActions.Invoking(options.Validate).Should().Throw<ArgumentException>()
            .Which.Message.Should().ContainAll("ConnectionString", "Schema", "TableName", "CommandTimeout", "PurgeInterval", "a..b");
        FluentActions.Invoking(() => new PostgresStoreOptions().Index("orders", "a.{b}")).Should().Throw<ArgumentException>();
        FluentActions.Invoking(() => new PostgresStoreOptions().Index("bad/collection", "a")).Should().Throw<ArgumentException>();
    }

    [Theory]
    [InlineData("postgres://app:s%40cret@db.example:6543/orders?sslmode=require", "db.example", 6543, "orders", "app", "s@cret")]
    [InlineData("postgresql://db/app", "db", 5432, "app", null, null)]
    [InlineData("Host=db;Port=5433;Database=app;Username=u;Password=p", "db", 5433, "app", "u", "p")]
    public void ConnectionString_UrlAndKeywordForms_Parse(string value, string host, int port, string database, string? user, string? password)
    {
        PostgresConnection.TryParse(value, out var builder).Should().BeNull();

        (builder.Host, builder.Port, builder.Database, builder.Username, builder.Password).Should().Be((host, port, database, user, password));
    }

    [Fact]
    public async Task Store_ServerUnreachable_ThrowsStoreUnavailableWithoutThePassword()
    {
        var closedPort = System.Net.Sockets.TcpListener.Create(0);
        closedPort.Start();
        var port = ((System.Net.IPEndPoint)closedPort.LocalEndpoint).Port;
        closedPort.Stop();

        var act = () => new PostgresStore(new PostgresStoreOptions { ConnectionString = $"Host=127.0.0.1;Port={port};Username=u;Password=TopSecret42;Timeout=3" });

        var error = act.Should().Throw<StoreUnavailableException>().Which;
        error.InnerException.Should().BeAssignableTo<NpgsqlException>();
        error.Message.Should().Contain($"127.0.0.1:{port}").And.NotContain("TopSecret42");
        await Task.CompletedTask;
    }

    private ServiceProvider Provider()
    {
        var services = new ServiceCollection();
        services.AddPersistence().AddPostgresStoreProvider();
        return services.BuildServiceProvider();
    }

    private async Task<object?> Scalar(string sql)
    {
        await using var connection = new NpgsqlConnection(postgres.ConnectionString);
        await connection.OpenAsync(Token);
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync(Token);
    }
}
