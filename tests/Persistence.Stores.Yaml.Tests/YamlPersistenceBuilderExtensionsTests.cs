using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Persistence.FileStorage;

namespace Persistence.Stores.Yaml.Tests;

public sealed class YamlPersistenceBuilderExtensionsTests : IDisposable
{
    private readonly TempDirectory _root = new();

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public void Dispose() => _root.Dispose();

    [Fact]
    public async Task AddYamlFileStore_Configure_RegistersTheDefaultStore()
    {
        var services = new ServiceCollection();
        services.AddPersistence().AddYamlFileStore(o =>
        {
            o.RootPath = _root.Path;
            o.Layout = FileLayout.SingleFile;
        });
        await using var provider = services.BuildServiceProvider();

        var store = provider.GetRequiredService<IStore>();

        store.Unwrap<YamlFileStore>().Should().BeOfType<YamlFileStore>().Which.Layout.Should().Be(FileLayout.SingleFile);
        store.Serializer.Should().BeSameAs(YamlSerializer.Default);
        provider.GetRequiredKeyedService<IStore>("default").Should().BeSameAs(store);
        await store.PutAsync("items", "k", new Child { Label = "x" }, cancellationToken: Token);
        File.Exists(_root.Combine("store.yaml")).Should().BeTrue();
    }

    [Fact]
    public async Task AddYamlFileStore_Named_ResolvesAsKeyedService()
    {
        var services = new ServiceCollection();
        services.AddPersistence()
            .AddYamlFileStore(o => o.RootPath = _root.Combine("main"))
            .AddYamlFileStore("config", o => o.RootPath = _root.Combine("config"));
        await using var provider = services.BuildServiceProvider();

        var config = provider.GetRequiredKeyedService<IStore>("config");

        config.Unwrap<YamlFileStore>().Should().BeOfType<YamlFileStore>();
        config.Name.Should().Be("config");
        provider.GetRequiredService<IStoreProvider>().GetStore("config").Should().BeSameAs(config);
        provider.GetRequiredService<IStore>().Should().NotBeSameAs(config);
    }

    [Fact]
    public async Task AddYamlFileStore_NoConfigure_UsesNamedOptionsConfiguredElsewhere()
    {
        var services = new ServiceCollection();
        services.Configure<YamlFileStoreOptions>("default", o => o.RootPath = _root.Path);
        services.AddPersistence().AddYamlFileStore();
        await using var provider = services.BuildServiceProvider();

        provider.GetRequiredService<IStore>().Unwrap<YamlFileStore>().Should().BeOfType<YamlFileStore>().Which.RootPath.Should().Be(_root.Path);
    }

    [Fact]
    public async Task AddYamlFileStore_InvalidOptions_FailOnResolveWithClearMessage()
    {
        var services = new ServiceCollection();
        services.AddPersistence().AddYamlFileStore(o => o.SerializerOptions = new YamlSerializerOptions { MaxNodes = 0 });
        await using var provider = services.BuildServiceProvider();

        var act = () => provider.GetRequiredService<IStore>();

        var thrown = act.Should().Throw<OptionsValidationException>().Which;
        thrown.Message.Should().Contain("YAML file store 'default'").And.Contain("RootPath is required").And.Contain("MaxNodes 0");
    }

    [Fact]
    public async Task AddYamlFileStore_InvalidOptions_FailAtHostStart()
    {
        var services = new ServiceCollection();
        services.AddPersistence().AddYamlFileStore("broken", o => o.SerializerOptions = new YamlSerializerOptions { MaxNodes = 0 });
        await using var provider = services.BuildServiceProvider();

        var act = () => provider.GetRequiredService<IStartupValidator>().Validate();

        var thrown = act.Should().Throw<OptionsValidationException>().Which;
        thrown.Message.Should().Contain("YAML file store 'broken'").And.Contain("RootPath is required").And.Contain("MaxNodes 0");
    }

    [Fact]
    public void AddYamlFileStore_SameNameTwice_Throws()
    {
        var builder = new ServiceCollection().AddPersistence().AddYamlFileStore(o => o.RootPath = _root.Path);

        var act = () => builder.AddYamlFileStore(o => o.RootPath = _root.Path);

        act.Should().Throw<ArgumentException>().WithMessage("*default*");
    }
}
