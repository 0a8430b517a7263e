using FluentAssertions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Persistence.Core.Tests.DependencyInjection;

/// <summary>Tests of <c>AddPersistence(IConfiguration)</c>: stores chosen by configuration, checked at startup.</summary>
public sealed class StoreConfigurationTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task AddPersistence_Configuration_RegistersDefaultAndNamedStores()
    {
        var services = new ServiceCollection();
        services.AddPersistence(Section(new()
        {
            ["Persistence:Default:Provider"] = "memory",
            ["Persistence:Stores:cache:Provider"] = "MEMORY",
            ["Persistence:Stores:audit:Provider"] = "labelled",
            ["Persistence:Stores:audit:Label"] = "blue",
        })).AddLabelledStoreProvider();
        await using var provider = services.BuildServiceProvider(validateScopes: true);

        provider.GetRequiredService<IStoreProvider>().StoreNames.Should().Equal("default", "audit", "cache"); // the default first, then configuration key order
        var defaultStore = provider.GetRequiredService<IStore>();
        defaultStore.Unwrap<InMemoryStore>().Should().BeOfType<InMemoryStore>().Which.Name.Should().Be("default");
        provider.GetRequiredKeyedService<IStore>("cache").Unwrap<InMemoryStore>().Should().BeOfType<InMemoryStore>().Which.Name.Should().Be("cache");
        provider.GetRequiredService<IStoreProvider>().GetStore("audit").Name.Should().Be("audit-blue");
        provider.GetRequiredService<IStoreProvider>().GetStore().Should().BeSameAs(defaultStore);
        await defaultStore.PutAsync("items", "k", "1"u8.ToArray(), cancellationToken: Token);
        (await provider.GetRequiredKeyedService<IStore>("cache").GetAsync("items", "k", Token)).Should().BeNull("each configured store is its own store");
    }

    [Fact]
    public async Task AddPersistence_Configuration_SwitchesProviderByConfigurationOnly()
    {
        static async Task<string> StoreNameFor(Dictionary<string, string?> settings)
        {
            // The same application code for both configurations.
            var services = new ServiceCollection();
            services.AddPersistence(Section(settings)).AddLabelledStoreProvider();
            await using var provider = services.BuildServiceProvider();
            return provider.GetRequiredService<IStore>().Name;
        }

        (await StoreNameFor(new() { ["Persistence:Default:Provider"] = "memory" })).Should().Be("default");
        (await StoreNameFor(new() { ["Persistence:Default:Provider"] = "labelled", ["Persistence:Default:Label"] = "red" })).Should().Be("default-red");
    }

    [Fact]
    public async Task AddPersistence_Configuration_UsesRegisteredTimeProvider()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2030, 1, 2, 3, 4, 5, TimeSpan.Zero));
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(time);
        services.AddPersistence(Section(new() { ["Persistence:Default:Provider"] = "memory" }));
        await using var provider = services.BuildServiceProvider();
        var store = provider.GetRequiredService<IStore>();

        await store.PutAsync("items", "k", "1"u8.ToArray(), cancellationToken: Token);

        (await store.GetAsync("items", "k", Token))!.CreatedAt.Should().Be(time.GetUtcNow());
    }

    [Fact]
    public async Task ResolveStore_UnknownProvider_FailsListingKnownProviders()
    {
        var services = new ServiceCollection();
        services.AddPersistence(Section(new() { ["Persistence:Default:Provider"] = "mongo" })).AddLabelledStoreProvider();
        await using var provider = services.BuildServiceProvider();

        FluentActions.Invoking(() => provider.GetRequiredService<IStore>())
            .Should().Throw<OptionsValidationException>()
            .Which.Message.Should().ContainAll("'mongo'", "labelled, memory", "Persistence:Default", "Add…StoreProvider()");
    }

    [Fact]
    public async Task ResolveStore_NoProviderSetting_FailsListingKnownProviders()
    {
        var services = new ServiceCollection();
        services.AddPersistence(Section(new() { ["Persistence:Stores:shared:Label"] = "x" }));
        await using var provider = services.BuildServiceProvider();

        FluentActions.Invoking(() => provider.GetRequiredService<IStoreProvider>().GetStore("shared"))
            .Should().Throw<OptionsValidationException>()
            .Which.Message.Should().ContainAll("Store 'shared'", "Persistence:Stores:shared", "'Provider'", "memory");
    }

    [Fact]
    public async Task ResolveStore_MissingRequiredSetting_FailsNamingTheSetting()
    {
        var services = new ServiceCollection();
        services.AddPersistence(Section(new() { ["Persistence:Default:Provider"] = "labelled", ["Persistence:Default:Label"] = " " }))
            .AddLabelledStoreProvider();
        await using var provider = services.BuildServiceProvider();

        FluentActions.Invoking(() => provider.GetRequiredService<IStore>())
            .Should().Throw<OptionsValidationException>()
            .Which.Message.Should().ContainAll("Store 'default'", "'labelled'", "missing setting(s): Label");
    }

    [Fact]
    public async Task ResolveAnyConfiguredStore_OneBadStore_FailsListingEveryProblem()
    {
        var services = new ServiceCollection();
        services.AddPersistence(Section(new()
        {
            ["Persistence:Default:Provider"] = "memory",
            ["Persistence:Stores:a:Provider"] = "nosuch",
            ["Persistence:Stores:b:Provider"] = "labelled",
        })).AddLabelledStoreProvider();
        await using var provider = services.BuildServiceProvider();

        FluentActions.Invoking(() => provider.GetRequiredService<IStore>())
            .Should().Throw<OptionsValidationException>()
            .Which.Failures.Should().HaveCount(2).And.Contain(f => f.Contains("'nosuch'")).And.Contain(f => f.Contains("Label"));
    }

    [Fact]
    public async Task StartupValidation_BadConfiguration_FailsBeforeAnyStoreIsResolved()
    {
        var services = new ServiceCollection();
        services.AddPersistence(Section(new() { ["Persistence:Default:Provider"] = "nosuch" }));
        await using var provider = services.BuildServiceProvider();

        // What a host does when it starts (ValidateOnStart).
        FluentActions.Invoking(() => provider.GetRequiredService<IStartupValidator>().Validate())
            .Should().Throw<OptionsValidationException>().Which.Message.Should().Contain("'nosuch'");
    }

    [Fact]
    public async Task StartupValidation_GoodConfiguration_Passes()
    {
        var services = new ServiceCollection();
        services.AddPersistence(Section(new() { ["Persistence:Default:Provider"] = "labelled", ["Persistence:Default:Label"] = "a" }))
            .AddLabelledStoreProvider();
        await using var provider = services.BuildServiceProvider();

        FluentActions.Invoking(() => provider.GetRequiredService<IStartupValidator>().Validate()).Should().NotThrow();
    }

    [Fact]
    public void AddPersistence_ConfigurationWithoutStores_ThrowsNamingTheSections()
    {
        var services = new ServiceCollection();

        FluentActions.Invoking(() => services.AddPersistence(Section(new() { ["Other:Default:Provider"] = "memory" })))
            .Should().Throw<ArgumentException>().Which.Message.Should().ContainAll("'Persistence'", "'Default'", "'Stores'");
    }

    [Fact]
    public void AddPersistence_ConfigurationNamingDefaultTwice_Throws()
    {
        var services = new ServiceCollection();

        FluentActions.Invoking(() => services.AddPersistence(Section(new()
        {
            ["Persistence:Default:Provider"] = "memory",
            ["Persistence:Stores:default:Provider"] = "memory",
        }))).Should().Throw<ArgumentException>().Which.Message.Should().Contain("'default' is already registered");
    }

    [Fact]
    public void AddPersistence_NullConfiguration_Throws()
        => FluentActions.Invoking(() => new ServiceCollection().AddPersistence((IConfiguration)null!)).Should().Throw<ArgumentNullException>();

    [Fact]
    public async Task AddPersistence_ConfigurationAndCodeStores_CoexistAndRepositoriesWork()
    {
        var services = new ServiceCollection();
        services.AddPersistence(Section(new() { ["Persistence:Stores:shared:Provider"] = "memory" }))
            .AddInMemoryStore()
            .AddRepository<Item>("items", i => i.Id, storeName: "shared");
        await using var provider = services.BuildServiceProvider();

        await provider.GetRequiredService<IRepository<Item>>().SaveAsync(new Item("a", 1), ct: Token);

        (await provider.GetRequiredKeyedService<IStore>("shared").GetAsync("items", "a", Token)).Should().NotBeNull();
        (await provider.GetRequiredService<IStore>().GetAsync("items", "a", Token)).Should().BeNull();
    }

    internal static IConfigurationSection Section(Dictionary<string, string?> settings)
        => new ConfigurationBuilder().AddInMemoryCollection(settings).Build().GetSection("Persistence");

    public sealed record Item(string Id, int Count);
}

/// <summary>
/// A real provider written against the public contract, as a third-party package would: <c>labelled</c> stores are
/// in-memory stores named <c>{name}-{Label}</c>, and <c>Label</c> is required.
/// </summary>
internal sealed class LabelledStoreProviderFactory : IStoreProviderFactory
{
    public string Name => "labelled";

    public IReadOnlyList<string> RequiredKeys => ["Label"];

    public IReadOnlyDictionary<string, string?> ParseLocation(string location)
        => location.Length == 0 ? new Dictionary<string, string?>() : new Dictionary<string, string?> { ["Label"] = location };

    public IStore Create(string storeName, IConfiguration settings, IServiceProvider services)
        => new InMemoryStore($"{storeName}-{settings["Label"]}{settings["Suffix"]}", timeProvider: services.GetService<TimeProvider>());
}

internal static class LabelledStoreProviderExtensions
{
    public static IPersistenceBuilder AddLabelledStoreProvider(this IPersistenceBuilder builder)
    {
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IStoreProviderFactory, LabelledStoreProviderFactory>());
        return builder;
    }
}
