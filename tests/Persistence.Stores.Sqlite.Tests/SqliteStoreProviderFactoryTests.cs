using System.Text;
using FluentAssertions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Persistence.Stores.Sqlite.Tests;

/// <summary>The <c>sqlite</c> provider through configuration and through store URIs.</summary>
public sealed class SqliteStoreProviderFactoryTests : IDisposable
{
    private readonly TempDirectory _root = new();

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public void Dispose() => _root.Dispose();

    [Fact]
    public async Task AddPersistence_Configuration_BuildsSqliteStoresWithBoundOptions()
    {
        var services = new ServiceCollection();
        services.AddPersistence(Section(new()
        {
            ["Persistence:Default:Provider"] = "sqlite",
            ["Persistence:Default:DataSource"] = _root.Combine("app.db"),
            ["Persistence:Default:JournalMode"] = "Delete",
            ["Persistence:Default:Synchronous"] = "Full",
            ["Persistence:Default:BusyTimeout"] = "00:00:05",
            ["Persistence:Stores:audit:Provider"] = "sqlite",
            ["Persistence:Stores:audit:DataSource"] = _root.Combine("audit.db"),
        })).AddSqliteStoreProvider();
        await using var provider = services.BuildServiceProvider();

        var store = provider.GetRequiredService<IStore>().Unwrap<SqliteStore>().Should().BeOfType<SqliteStore>().Subject;
        var audit = provider.GetRequiredKeyedService<IStore>("audit").Unwrap<SqliteStore>().Should().BeOfType<SqliteStore>().Subject;

        store.DataSource.Should().Be(_root.Combine("app.db"));
        store.JournalMode.Should().Be(SqliteJournalMode.Delete);
        store.Synchronous.Should().Be(SqliteSynchronousMode.Full);
        store.BusyTimeout.Should().Be(TimeSpan.FromSeconds(5));
        audit.JournalMode.Should().Be(SqliteJournalMode.Wal);
        audit.Name.Should().Be("audit");
        await store.PutAsync("items", "k", Encoding.UTF8.GetBytes("1"), cancellationToken: Token);
        await audit.PutAsync("items", "k", Encoding.UTF8.GetBytes("2"), cancellationToken: Token);
        File.Exists(_root.Combine("app.db")).Should().BeTrue();
        File.Exists(_root.Combine("audit.db")).Should().BeTrue();
    }

    [Fact]
    public async Task AddPersistence_Configuration_MissingDataSource_FailsAtStartupNamingIt()
    {
        var services = new ServiceCollection();
        services.AddPersistence(Section(new() { ["Persistence:Default:Provider"] = "sqlite", ["Persistence:Default:JournalMode"] = "Wal" }))
            .AddSqliteStoreProvider();
        await using var provider = services.BuildServiceProvider();

        FluentActions.Invoking(() => provider.GetRequiredService<IStartupValidator>().Validate())
            .Should().Throw<OptionsValidationException>().Which.Message.Should().ContainAll("'sqlite'", "missing setting(s): DataSource");
        FluentActions.Invoking(() => provider.GetRequiredService<IStore>())
            .Should().Throw<OptionsValidationException>().Which.Message.Should().Contain("DataSource");
    }

    [Fact]
    public async Task AddPersistence_Configuration_InvalidValue_FailsWithTheOptionsValidation()
    {
        var services = new ServiceCollection();
        services.AddPersistence(Section(new()
        {
            ["Persistence:Default:Provider"] = "sqlite",
            ["Persistence:Default:DataSource"] = _root.Combine("app.db"),
            ["Persistence:Default:CacheSizeKilobytes"] = "0",
        })).AddSqliteStoreProvider();
        await using var provider = services.BuildServiceProvider();

        FluentActions.Invoking(() => provider.GetRequiredService<IStore>())
            .Should().Throw<ArgumentException>().Which.Message.Should().Contain("CacheSizeKilobytes");
        File.Exists(_root.Combine("app.db")).Should().BeFalse();
    }

    [Fact]
    public async Task AddSqliteStore_RegistersTheProviderToo()
    {
        var services = new ServiceCollection();
        services.AddPersistence().AddSqliteStore(o => o.DataSource = _root.Combine("app.db"));
        await using var provider = services.BuildServiceProvider();

        provider.GetRequiredService<IStoreFactory>().Providers.Should().Equal("memory", "sqlite");
    }

    [Fact]
    public async Task StoreFactory_SqliteUri_CreatesAStoreOverTheFile()
    {
        var services = new ServiceCollection();
        services.AddPersistence().AddSqliteStoreProvider();
        await using var provider = services.BuildServiceProvider();
        var factory = provider.GetRequiredService<IStoreFactory>();
        var path = _root.Combine("tool.db");

        await using (var store = factory.Create($"sqlite:{path}?JournalMode=Delete"))
        {
            var sqlite = store.Should().BeOfType<SqliteStore>().Subject;
            sqlite.Name.Should().Be("sqlite");
            sqlite.DataSource.Should().Be(path);
            sqlite.JournalMode.Should().Be(SqliteJournalMode.Delete);
            await store.PutAsync("items", "k", Encoding.UTF8.GetBytes("1"), cancellationToken: Token);
        }

        await using var reopened = factory.Create($"sqlite:{path}");
        (await reopened.GetAsync("items", "k", Token)).Should().NotBeNull();
    }

    [Theory]
    [InlineData("sqlite:", "sqlite:./app.db")]
    [InlineData("sqlite::memory:", "file path")]
    [InlineData("sqlite:app.db?BusyTimeout=soon", "BusyTimeout")]
    public async Task StoreFactory_BadSqliteUri_ThrowsClearly(string uri, string expected)
    {
        var services = new ServiceCollection();
        services.AddPersistence().AddSqliteStoreProvider();
        await using var provider = services.BuildServiceProvider();

        FluentActions.Invoking(() => provider.GetRequiredService<IStoreFactory>().Create(uri))
            .Should().Throw<ArgumentException>().Which.Message.Should().Contain(expected);
    }

    private static IConfigurationSection Section(Dictionary<string, string?> settings)
        => new ConfigurationBuilder().AddInMemoryCollection(settings).Build().GetSection("Persistence");
}
