using System.Text;
using FluentAssertions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Persistence.FileStorage;

namespace Persistence.Stores.Yaml.Tests;

/// <summary>The <c>yaml</c> provider through configuration and through store URIs.</summary>
public sealed class YamlFileStoreProviderFactoryTests : IDisposable
{
    private readonly TempDirectory _root = new();

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public void Dispose() => _root.Dispose();

    [Fact]
    public async Task AddPersistence_Configuration_BuildsYamlStoresWithBoundOptions()
    {
        var services = new ServiceCollection();
        services.AddPersistence(Section(new()
        {
            ["Persistence:Default:Provider"] = "yaml",
            ["Persistence:Default:RootPath"] = _root.Combine("config"),
            ["Persistence:Default:Layout"] = "FilePerCollection",
            ["Persistence:Default:Durability"] = "None",
            ["Persistence:Stores:settings:Provider"] = "yaml",
            ["Persistence:Stores:settings:RootPath"] = _root.Combine("settings"),
            ["Persistence:Stores:settings:Layout"] = "SingleFile",
            ["Persistence:Stores:settings:SingleFileName"] = "all",
        })).AddYamlFileStoreProvider();
        await using var provider = services.BuildServiceProvider();

        var store = provider.GetRequiredService<IStore>().Unwrap<YamlFileStore>().Should().BeOfType<YamlFileStore>().Subject;
        var settings = provider.GetRequiredKeyedService<IStore>("settings").Unwrap<YamlFileStore>().Should().BeOfType<YamlFileStore>().Subject;

        store.Layout.Should().Be(FileLayout.FilePerCollection);
        settings.Name.Should().Be("settings");
        await store.PutAsync("items", "k", Encoding.UTF8.GetBytes("{\"a\":1}"), cancellationToken: Token);
        await settings.PutAsync("items", "k", Encoding.UTF8.GetBytes("{\"a\":2}"), cancellationToken: Token);
        File.Exists(_root.Combine("config", "items.yaml")).Should().BeTrue();
        File.Exists(_root.Combine("settings", "all.yaml")).Should().BeTrue();
    }

    [Fact]
    public async Task AddPersistence_Configuration_MissingRootPath_FailsAtStartupNamingIt()
    {
        var services = new ServiceCollection();
        services.AddPersistence(Section(new() { ["Persistence:Stores:cfg:Provider"] = "Yaml" })).AddYamlFileStoreProvider();
        await using var provider = services.BuildServiceProvider();

        FluentActions.Invoking(() => provider.GetRequiredService<IStartupValidator>().Validate())
            .Should().Throw<OptionsValidationException>().Which.Message.Should().ContainAll("Store 'cfg'", "'yaml'", "RootPath");
    }

    [Fact]
    public async Task AddYamlFileStore_RegistersTheProviderToo()
    {
        var services = new ServiceCollection();
        services.AddPersistence().AddYamlFileStore(o => o.RootPath = _root.Path);
        await using var provider = services.BuildServiceProvider();

        provider.GetRequiredService<IStoreFactory>().Providers.Should().Equal("memory", "yaml");
    }

    [Fact]
    public async Task StoreFactory_YamlUri_CreatesAStoreOverTheDirectory()
    {
        var services = new ServiceCollection();
        services.AddPersistence().AddYamlFileStoreProvider();
        await using var provider = services.BuildServiceProvider();
        var factory = provider.GetRequiredService<IStoreFactory>();

        await using (var store = factory.Create($"yaml:{_root.Path}?Layout=SingleFile&SingleFileName=config"))
        {
            store.Should().BeOfType<YamlFileStore>().Which.Name.Should().Be("yaml");
            await store.PutAsync("items", "k", Encoding.UTF8.GetBytes("{\"a\":1}"), cancellationToken: Token);
        }

        File.Exists(_root.Combine("config.yaml")).Should().BeTrue();
        await using var reopened = factory.Create($"yaml:{_root.Path}?Layout=SingleFile&SingleFileName=config");
        (await reopened.GetAsync("items", "k", Token)).Should().NotBeNull();
    }

    [Fact]
    public async Task StoreFactory_YamlUriWithoutDirectory_ThrowsShowingTheForm()
    {
        var services = new ServiceCollection();
        services.AddPersistence().AddYamlFileStoreProvider();
        await using var provider = services.BuildServiceProvider();

        FluentActions.Invoking(() => provider.GetRequiredService<IStoreFactory>().Create("yaml:"))
            .Should().Throw<ArgumentException>().Which.Message.Should().Contain("yaml:./config");
    }

    private static IConfigurationSection Section(Dictionary<string, string?> settings)
        => new ConfigurationBuilder().AddInMemoryCollection(settings).Build().GetSection("Persistence");
}
