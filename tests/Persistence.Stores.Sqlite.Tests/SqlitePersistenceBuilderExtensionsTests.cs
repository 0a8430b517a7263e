using System.Text;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Persistence.Stores.Sqlite.Tests;

public sealed class SqlitePersistenceBuilderExtensionsTests : IDisposable
{
    private readonly TempDirectory _root = new();

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public void Dispose() => _root.Dispose();

    [Fact]
    public async Task AddSqliteStore_Configure_RegistersTheDefaultStore()
    {
        var services = new ServiceCollection();
        services.AddPersistence().AddSqliteStore(o =>
        {
            o.DataSource = _root.Combine("app.db");
            o.Synchronous = SqliteSynchronousMode.Full;
            o.Index("templates", "status");
        });
        await using var provider = services.BuildServiceProvider();

        var store = provider.GetRequiredService<IStore>();

        var sqlite = store.Unwrap<SqliteStore>().Should().BeOfType<SqliteStore>().Subject;
        sqlite.Name.Should().Be("default");
        sqlite.Synchronous.Should().Be(SqliteSynchronousMode.Full);
        sqlite.Indexes.Should().ContainSingle().Which.Should().Be(new SqliteDocumentIndex("templates", "status"));
        provider.GetRequiredKeyedService<IStore>("default").Should().BeSameAs(store);
        await store.PutAsync("items", "k", Encoding.UTF8.GetBytes("1"), cancellationToken: Token);
        File.Exists(_root.Combine("app.db")).Should().BeTrue();
    }

    [Fact]
    public async Task AddSqliteStore_Named_ResolvesAsKeyedServiceWithTheRegisteredClock()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2030, 5, 1, 0, 0, 0, TimeSpan.Zero));
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(time);
        services.AddPersistence()
            .AddSqliteStore(o => o.DataSource = _root.Combine("main.db"))
            .AddSqliteStore("cache", o => o.DataSource = _root.Combine("cache.db"));
        await using var provider = services.BuildServiceProvider();

        var cache = provider.GetRequiredKeyedService<IStore>("cache");

        cache.Name.Should().Be("cache");
        provider.GetRequiredService<IStoreProvider>().GetStore("cache").Should().BeSameAs(cache);
        provider.GetRequiredService<IStore>().Should().NotBeSameAs(cache);
        await cache.PutAsync("items", "k", Encoding.UTF8.GetBytes("1"), cancellationToken: Token);
        (await cache.GetAsync("items", "k", Token))!.CreatedAt.Should().Be(time.GetUtcNow());
    }

    [Fact]
    public async Task AddSqliteStore_InvalidOptions_FailsWithNamedMessages()
    {
        var services = new ServiceCollection();
        services.AddPersistence().AddSqliteStore("broken", o => o.BusyTimeout = TimeSpan.Zero);
        await using var provider = services.BuildServiceProvider();

        var act = () => provider.GetRequiredKeyedService<IStore>("broken");

        act.Should().Throw<OptionsValidationException>().WithMessage("*SQLite store 'broken'*DataSource*BusyTimeout*");
    }

    [Fact]
    public async Task AddSqliteStore_InvalidOptions_FailAtHostStart()
    {
        var services = new ServiceCollection();
        services.AddPersistence().AddSqliteStore(o => o.DataSource = _root.Combine("main.db")).AddSqliteStore("broken", o => o.BusyTimeout = TimeSpan.Zero);
        await using var provider = services.BuildServiceProvider();

        var act = () => provider.GetRequiredService<IStartupValidator>().Validate();

        act.Should().Throw<OptionsValidationException>().WithMessage("*SQLite store 'broken'*DataSource*BusyTimeout*")
            .Which.Message.Should().NotContain("'default'");
        File.Exists(_root.Combine("main.db")).Should().BeFalse("validation does not open any store");
    }

    [Fact]
    public void AddSqliteStore_SameNameTwice_Throws()
    {
        var builder = new ServiceCollection().AddPersistence().AddSqliteStore(o => o.DataSource = "a.db");

        var act = () => builder.AddSqliteStore(o => o.DataSource = "b.db");

        act.Should().Throw<ArgumentException>().WithMessage("*default*");
    }
}
