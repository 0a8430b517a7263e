using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Persistence.FileStorage;

namespace Persistence.Stores.Json.Tests;

public sealed class JsonPersistenceBuilderExtensionsTests : IDisposable
{
    private readonly TempDirectory _root = new();

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public void Dispose() => _root.Dispose();

    [Fact]
    public async Task AddJsonFileStore_Configure_RegistersTheDefaultStore()
    {
        var services = new ServiceCollection();
        services.AddPersistence().AddJsonFileStore(o =>
        {
            o.RootPath = _root.Path;
            o.Layout = FileLayout.SingleFile;
        });
        await using var provider = services.BuildServiceProvider();

        var store = provider.GetRequiredService<IStore>();

        var json = store.Unwrap<JsonFileStore>().Should().BeOfType<JsonFileStore>().Subject;
        json.Name.Should().Be("default");
        json.Layout.Should().Be(FileLayout.SingleFile);
        json.RootPath.Should().Be(_root.Path);
        provider.GetRequiredService<IStoreProvider>().GetStore().Should().BeSameAs(store);
        provider.GetRequiredKeyedService<IStore>("default").Should().BeSameAs(store);
        await store.PutAsync("items", "k", StoreFactory.Utf8("1"), cancellationToken: Token);
        File.Exists(_root.Combine("store.json")).Should().BeTrue();
    }

    [Fact]
    public async Task AddJsonFileStore_Named_ResolvesAsKeyedServiceAndThroughTheProvider()
    {
        var services = new ServiceCollection();
        services.AddPersistence()
            .AddJsonFileStore(o => o.RootPath = _root.Combine("main"))
            .AddJsonFileStore("archive", o =>
            {
                o.RootPath = _root.Combine("archive");
                o.Durability = FileDurability.None;
            });
        await using var provider = services.BuildServiceProvider();

        var archive = provider.GetRequiredKeyedService<IStore>("archive");

        archive.Unwrap<JsonFileStore>().Should().BeOfType<JsonFileStore>().Which.Durability.Should().Be(FileDurability.None);
        archive.Name.Should().Be("archive");
        provider.GetRequiredService<IStoreProvider>().GetStore("archive").Should().BeSameAs(archive);
        provider.GetRequiredService<IStoreProvider>().StoreNames.Should().Equal(["default", "archive"]);
        provider.GetRequiredService<IStore>().Should().NotBeSameAs(archive);
        await archive.PutAsync("items", "k", StoreFactory.Utf8("1"), cancellationToken: Token);
        Directory.Exists(_root.Combine("archive", "items")).Should().BeTrue();
        Directory.Exists(_root.Combine("main", "items")).Should().BeFalse();
    }

    [Fact]
    public async Task AddJsonFileStore_TimeProviderFromServices_StampsRecords()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2030, 5, 6, 7, 8, 9, TimeSpan.Zero));
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(clock);
        services.AddPersistence().AddJsonFileStore(o => o.RootPath = _root.Path);
        await using var provider = services.BuildServiceProvider();
        var store = provider.GetRequiredService<IStore>();

        await store.PutAsync("items", "k", StoreFactory.Utf8("1"), cancellationToken: Token);

        (await store.GetAsync("items", "k", Token))!.CreatedAt.Should().Be(clock.GetUtcNow());
    }

    [Fact]
    public async Task AddJsonFileStore_EmptyRootPath_FailsOnResolveWithClearMessage()
    {
        var services = new ServiceCollection();
        services.AddPersistence().AddJsonFileStore("broken", o => o.LockTimeout = TimeSpan.Zero);
        await using var provider = services.BuildServiceProvider();

        var act = () => provider.GetRequiredService<IStoreProvider>().GetStore("broken");

        var thrown = act.Should().Throw<OptionsValidationException>().Which;
        thrown.Message.Should().Contain("RootPath").And.Contain("'broken'").And.Contain("LockTimeout");
    }

    [Fact]
    public async Task AddJsonFileStore_InvalidOptions_FailAtHostStart()
    {
        var services = new ServiceCollection();
        services.AddPersistence().AddJsonFileStore(o => o.RootPath = _root.Path).AddJsonFileStore("broken", o => o.LockTimeout = TimeSpan.Zero);
        await using var provider = services.BuildServiceProvider();

        var act = () => provider.GetRequiredService<IStartupValidator>().Validate();

        var thrown = act.Should().Throw<OptionsValidationException>().Which;
        thrown.Message.Should().Contain("JSON file store 'broken'").And.Contain("RootPath").And.Contain("LockTimeout").And.NotContain("'default'");
    }

    [Fact]
    public async Task AddJsonFileStore_NoConfigure_UsesNamedOptionsConfiguredElsewhere()
    {
        var services = new ServiceCollection();
        services.Configure<JsonFileStoreOptions>("default", o => o.RootPath = _root.Path);
        services.AddPersistence().AddJsonFileStore();
        await using var provider = services.BuildServiceProvider();

        var store = provider.GetRequiredService<IStore>();

        store.Unwrap<JsonFileStore>().Should().BeOfType<JsonFileStore>().Which.RootPath.Should().Be(_root.Path);
    }

    [Fact]
    public void AddJsonFileStore_SameNameTwice_Throws()
    {
        var builder = new ServiceCollection().AddPersistence().AddJsonFileStore(o => o.RootPath = _root.Path);

        var act = () => builder.AddJsonFileStore(o => o.RootPath = _root.Path);

        act.Should().Throw<ArgumentException>().WithMessage("*default*");
    }
}
