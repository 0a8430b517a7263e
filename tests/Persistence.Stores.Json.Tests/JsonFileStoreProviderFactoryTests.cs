using FluentAssertions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Persistence.FileStorage;

namespace Persistence.Stores.Json.Tests;

/// <summary>The <c>json</c> provider through configuration and through store URIs.</summary>
public sealed class JsonFileStoreProviderFactoryTests : IDisposable
{
    private readonly TempDirectory _root = new();

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public void Dispose() => _root.Dispose();

    [Fact]
    public async Task AddPersistence_Configuration_BuildsJsonStoresWithBoundOptions()
    {
        var services = new ServiceCollection();
        services.AddPersistence(Section(new()
        {
            ["Persistence:Default:Provider"] = "json",
            ["Persistence:Default:RootPath"] = _root.Combine("main"),
            ["Persistence:Default:Layout"] = "SingleFile",
            ["Persistence:Default:SingleFileName"] = "everything",
            ["Persistence:Default:WriteIndented"] = "false",
            ["Persistence:Default:GroupCommit"] = "false",
            ["Persistence:Stores:archive:Provider"] = "json",
            ["Persistence:Stores:archive:RootPath"] = _root.Combine("archive"),
        })).AddJsonFileStoreProvider();
        await using var provider = services.BuildServiceProvider();

        var store = provider.GetRequiredService<IStore>().Unwrap<JsonFileStore>().Should().BeOfType<JsonFileStore>().Subject;
        var archive = provider.GetRequiredKeyedService<IStore>("archive").Unwrap<JsonFileStore>().Should().BeOfType<JsonFileStore>().Subject;

        store.Layout.Should().Be(FileLayout.SingleFile);
        archive.Layout.Should().Be(FileLayout.FilePerRecord);
        archive.Name.Should().Be("archive");
        store.GroupCommit.Should().BeFalse("GroupCommit=false was bound");
        archive.GroupCommit.Should().BeTrue();
        await store.PutAsync("items", "k", StoreFactory.Utf8("{\"a\":1}"), cancellationToken: Token);
        var text = await File.ReadAllTextAsync(_root.Combine("main", "everything.json"), Token);
        text.Should().Contain("{\"a\":1}").And.NotContain("\n  ", "WriteIndented=false was bound");
    }

    [Fact]
    public async Task AddPersistence_Configuration_OptionsSetInCodeForTheNameApplyUnderConfiguration()
    {
        var services = new ServiceCollection();
        services.Configure<JsonFileStoreOptions>("default", o =>
        {
            o.Layout = FileLayout.FilePerCollection;
            o.RootPath = "overridden-by-configuration";
        });
        services.AddPersistence(Section(new()
        {
            ["Persistence:Default:Provider"] = "json",
            ["Persistence:Default:RootPath"] = _root.Path,
        })).AddJsonFileStoreProvider();
        await using var provider = services.BuildServiceProvider();

        var store = provider.GetRequiredService<IStore>().Unwrap<JsonFileStore>()!;

        store.Layout.Should().Be(FileLayout.FilePerCollection);
        store.RootPath.Should().Be(_root.Path);
    }

    [Fact]
    public async Task AddPersistence_Configuration_SwitchesBetweenMemoryAndJsonWithoutCodeChange()
    {
        async Task<IStore> Resolve(Dictionary<string, string?> settings)
        {
            var services = new ServiceCollection();
            services.AddPersistence(Section(settings)).AddJsonFileStoreProvider();
            var provider = services.BuildServiceProvider();
            var store = provider.GetRequiredService<IStore>();
            await store.PutAsync("items", "k", StoreFactory.Utf8("1"), cancellationToken: Token);
            await provider.DisposeAsync();
            return store;
        }

        (await Resolve(new() { ["Persistence:Default:Provider"] = "memory" })).Unwrap<InMemoryStore>().Should().BeOfType<InMemoryStore>();
        Directory.EnumerateFiles(_root.Path, "*", SearchOption.AllDirectories).Should().BeEmpty();
        (await Resolve(new() { ["Persistence:Default:Provider"] = "json", ["Persistence:Default:RootPath"] = _root.Path }))
            .Unwrap<JsonFileStore>().Should().BeOfType<JsonFileStore>();
        Directory.EnumerateFiles(_root.Path, "*.json", SearchOption.AllDirectories).Should().ContainSingle();
    }

    [Fact]
    public async Task AddPersistence_Configuration_MissingRootPath_FailsAtStartupNamingIt()
    {
        var services = new ServiceCollection();
        services.AddPersistence(Section(new() { ["Persistence:Default:Provider"] = "json", ["Persistence:Default:Layout"] = "SingleFile" }))
            .AddJsonFileStoreProvider();
        await using var provider = services.BuildServiceProvider();

        FluentActions.Invoking(() => provider.GetRequiredService<IStartupValidator>().Validate())
            .Should().Throw<OptionsValidationException>().Which.Message.Should().ContainAll("'json'", "RootPath");
        FluentActions.Invoking(() => provider.GetRequiredService<IStore>())
            .Should().Throw<OptionsValidationException>().Which.Message.Should().Contain("RootPath");
    }

    [Fact]
    public async Task AddPersistence_Configuration_WithoutTheProviderRegistered_FailsListingKnownProviders()
    {
        var services = new ServiceCollection();
        services.AddPersistence(Section(new() { ["Persistence:Default:Provider"] = "json", ["Persistence:Default:RootPath"] = _root.Path }));
        await using var provider = services.BuildServiceProvider();

        FluentActions.Invoking(() => provider.GetRequiredService<IStore>())
            .Should().Throw<OptionsValidationException>().Which.Message.Should().ContainAll("'json' is not registered", "known providers: memory");
    }

    [Fact]
    public async Task AddPersistence_Configuration_InvalidValue_FailsWithTheOptionsValidation()
    {
        var services = new ServiceCollection();
        services.AddPersistence(Section(new()
        {
            ["Persistence:Default:Provider"] = "json",
            ["Persistence:Default:RootPath"] = _root.Path,
            ["Persistence:Default:SingleFileName"] = "../escape",
        })).AddJsonFileStoreProvider();
        await using var provider = services.BuildServiceProvider();

        FluentActions.Invoking(() => provider.GetRequiredService<IStore>())
            .Should().Throw<ArgumentException>().Which.Message.Should().Contain("SingleFileName");
    }

    [Fact]
    public async Task AddPersistence_Configuration_UnconvertibleValue_FailsNamingTheSetting()
    {
        var services = new ServiceCollection();
        services.AddPersistence(Section(new()
        {
            ["Persistence:Default:Provider"] = "json",
            ["Persistence:Default:RootPath"] = _root.Path,
            ["Persistence:Default:Layout"] = "Sideways",
        })).AddJsonFileStoreProvider();
        await using var provider = services.BuildServiceProvider();

        FluentActions.Invoking(() => provider.GetRequiredService<IStore>())
            .Should().Throw<InvalidOperationException>().Which.Message.Should().Contain("Persistence:Default:Layout");
    }

    [Fact]
    public async Task AddJsonFileStore_RegistersTheProviderToo()
    {
        var services = new ServiceCollection();
        services.AddPersistence().AddJsonFileStore(o => o.RootPath = _root.Path);
        services.AddPersistence().AddJsonFileStoreProvider();
        await using var provider = services.BuildServiceProvider();

        provider.GetRequiredService<IStoreFactory>().Providers.Should().Equal("json", "memory");
    }

    [Fact]
    public async Task StoreFactory_JsonUri_CreatesAStoreOverTheDirectory()
    {
        var services = new ServiceCollection();
        services.AddPersistence().AddJsonFileStoreProvider();
        await using var provider = services.BuildServiceProvider();
        var factory = provider.GetRequiredService<IStoreFactory>();

        await using (var store = factory.Create($"json:{_root.Path}?Layout=SingleFile"))
        {
            var json = store.Should().BeOfType<JsonFileStore>().Subject;
            json.Name.Should().Be("json");
            json.Layout.Should().Be(FileLayout.SingleFile);
            await store.PutAsync("items", "k", StoreFactory.Utf8("1"), cancellationToken: Token);
        }

        File.Exists(_root.Combine("store.json")).Should().BeTrue();
        await using var reopened = factory.Create($"JSON:{_root.Path}?layout=singlefile");
        (await reopened.GetAsync("items", "k", Token)).Should().NotBeNull();
    }

    [Fact]
    public async Task StoreFactory_RelativeUri_ResolvesAgainstTheCurrentDirectory()
    {
        var services = new ServiceCollection();
        services.AddPersistence().AddJsonFileStoreProvider();
        await using var provider = services.BuildServiceProvider();
        var relative = Path.GetRelativePath(Environment.CurrentDirectory, _root.Combine("rel"));

        await using var store = provider.GetRequiredService<IStoreFactory>().Create($"json:{relative}");

        ((JsonFileStore)store).RootPath.Should().Be(Path.GetFullPath(relative));
    }

    [Theory]
    [InlineData("json:")]
    [InlineData("json:?Layout=SingleFile")]
    public async Task StoreFactory_JsonUriWithoutDirectory_Throws(string uri)
    {
        var services = new ServiceCollection();
        services.AddPersistence().AddJsonFileStoreProvider();
        await using var provider = services.BuildServiceProvider();

        FluentActions.Invoking(() => provider.GetRequiredService<IStoreFactory>().Create(uri))
            .Should().Throw<ArgumentException>().Which.Message.Should().Contain("json:./data");
    }

    [Fact]
    public async Task StoreFactory_BadSettingValue_ThrowsArgumentException()
    {
        var services = new ServiceCollection();
        services.AddPersistence().AddJsonFileStoreProvider();
        await using var provider = services.BuildServiceProvider();

        FluentActions.Invoking(() => provider.GetRequiredService<IStoreFactory>().Create($"json:{_root.Path}?Layout=Sideways"))
            .Should().Throw<ArgumentException>().Which.Message.Should().Contain("Layout");
    }

    private static IConfigurationSection Section(Dictionary<string, string?> settings)
        => new ConfigurationBuilder().AddInMemoryCollection(settings).Build().GetSection("Persistence");
}
