using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Persistence.Core.Tests.Typed;

namespace Persistence.Core.Tests.DependencyInjection;

public sealed class PersistenceBuilderExtensionsTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task AddInMemoryStore_Default_IsSameInstanceEverywhere()
    {
        var services = new ServiceCollection();
        services.AddPersistence().AddInMemoryStore();
        await using var provider = services.BuildServiceProvider(validateScopes: true);

        var store = provider.GetRequiredService<IStore>();

        store.Unwrap<InMemoryStore>().Should().BeOfType<InMemoryStore>();
        store.Name.Should().Be(IStoreProvider.DefaultStoreName).And.Be("default");
        provider.GetRequiredKeyedService<IStore>("default").Should().BeSameAs(store);
        provider.GetRequiredService<IStoreProvider>().GetStore().Should().BeSameAs(store);
        provider.GetRequiredService<IStoreProvider>().GetStore("default").Should().BeSameAs(store);
        provider.GetRequiredService<IStore>().Should().BeSameAs(store);
    }

    [Fact]
    public async Task AddInMemoryStore_Named_IsKeyedAndInProvider()
    {
        var services = new ServiceCollection();
        services.AddPersistence().AddInMemoryStore().AddInMemoryStore("cache");
        await using var provider = services.BuildServiceProvider();

        var cache = provider.GetRequiredKeyedService<IStore>("cache");

        cache.Name.Should().Be("cache");
        cache.Should().NotBeSameAs(provider.GetRequiredService<IStore>());
        provider.GetRequiredService<IStoreProvider>().GetStore("cache").Should().BeSameAs(cache);
        provider.GetRequiredService<IStoreProvider>().StoreNames.Should().Equal("default", "cache");
    }

    [Fact]
    public async Task AddInMemoryStore_NamedOnly_DefaultStillMissing()
    {
        var services = new ServiceCollection();
        services.AddPersistence().AddInMemoryStore("cache");
        await using var provider = services.BuildServiceProvider();

        FluentActions.Invoking(() => provider.GetRequiredService<IStore>()).Should().Throw<InvalidOperationException>();
        FluentActions.Invoking(() => provider.GetRequiredService<IStoreProvider>().GetStore())
            .Should().Throw<InvalidOperationException>().Where(e => e.Message.Contains("'cache'", StringComparison.Ordinal));
    }

    [Fact]
    public async Task GetStore_UnknownName_MessageListsRegisteredNames()
    {
        var services = new ServiceCollection();
        services.AddPersistence().AddInMemoryStore().AddInMemoryStore("cache");
        await using var provider = services.BuildServiceProvider();

        FluentActions.Invoking(() => provider.GetRequiredService<IStoreProvider>().GetStore("archive"))
            .Should().Throw<InvalidOperationException>()
            .Where(e => e.Message.Contains("'archive'", StringComparison.Ordinal)
                && e.Message.Contains("'default', 'cache'", StringComparison.Ordinal));
    }

    [Fact]
    public async Task GetStore_NoStores_MessageSaysNone()
    {
        var services = new ServiceCollection();
        services.AddPersistence();
        await using var provider = services.BuildServiceProvider();

        var storeProvider = provider.GetRequiredService<IStoreProvider>();
        storeProvider.StoreNames.Should().BeEmpty();
        FluentActions.Invoking(() => storeProvider.GetStore("x")).Should().Throw<InvalidOperationException>().WithMessage("*none*");
        FluentActions.Invoking(() => storeProvider.GetStore(string.Empty)).Should().Throw<ArgumentException>();
    }

    [Fact]
    public void AddStore_DuplicateName_ThrowsArgumentException()
    {
        var builder = new ServiceCollection().AddPersistence().AddInMemoryStore("a");

        FluentActions.Invoking(() => builder.AddInMemoryStore("a"))
            .Should().Throw<ArgumentException>().Where(e => e.Message.Contains("'a'", StringComparison.Ordinal));
        FluentActions.Invoking(() => builder.AddStore("a", (_, name) => new InMemoryStore(name))).Should().Throw<ArgumentException>();
    }

    [Fact]
    public void AddStore_DuplicateDefault_ThrowsArgumentException()
    {
        var builder = new ServiceCollection().AddPersistence().AddInMemoryStore();
        FluentActions.Invoking(() => builder.AddInMemoryStore()).Should().Throw<ArgumentException>();
    }

    [Fact]
    public void AddStore_InvalidArguments_Throw()
    {
        var builder = new ServiceCollection().AddPersistence();
        FluentActions.Invoking(() => builder.AddStore(string.Empty, (_, n) => new InMemoryStore(n))).Should().Throw<ArgumentException>();
        FluentActions.Invoking(() => builder.AddStore("x", null!)).Should().Throw<ArgumentNullException>();
        FluentActions.Invoking(() => PersistenceBuilderExtensions.AddStore(null!, "x", (_, n) => new InMemoryStore(n))).Should().Throw<ArgumentNullException>();
    }

    [Fact]
    public async Task AddStore_CustomFactory_ReceivesServicesAndName()
    {
        var services = new ServiceCollection();
        var seen = new List<string>();
        services.AddPersistence().AddStore("custom", (sp, name) =>
        {
            sp.Should().NotBeNull();
            seen.Add(name);
            return new InMemoryStore(name + "-built");
        });
        await using var provider = services.BuildServiceProvider();

        provider.GetRequiredKeyedService<IStore>("custom").Name.Should().Be("custom-built");
        provider.GetRequiredKeyedService<IStore>("custom").Name.Should().Be("custom-built");
        seen.Should().Equal("custom");
    }

    [Fact]
    public async Task AddStore_Default_ReplacesMissingStoreRegistration()
    {
        var services = new ServiceCollection();
        services.AddPersistence().AddStore("default", (_, name) => new InMemoryStore(name));

        services.Count(d => d.ServiceType == typeof(IStore) && !d.IsKeyedService).Should().Be(1);
        await using var provider = services.BuildServiceProvider();
        provider.GetRequiredService<IStore>().Should().BeSameAs(provider.GetRequiredKeyedService<IStore>("default"));
    }

    [Fact]
    public async Task AddRepository_DefaultStore_ResolvesOnDefault()
    {
        var services = new ServiceCollection();
        services.AddPersistence().AddInMemoryStore().AddInMemoryStore("other").AddRepository<Widget>("widgets", w => w.Id);
        await using var provider = services.BuildServiceProvider(validateScopes: true);

        var repository = provider.GetRequiredService<IRepository<Widget>>();

        repository.Store.Should().BeSameAs(provider.GetRequiredService<IStore>());
        repository.Collection.Should().Be("widgets");
        provider.GetRequiredService<IRepository<Widget>>().Should().BeSameAs(repository);
    }

    [Fact]
    public async Task AddRepository_NamedStore_ResolvesOnThatStoreAndUsesKeySelector()
    {
        var services = new ServiceCollection();
        services.AddPersistence().AddInMemoryStore().AddInMemoryStore("catalog").AddRepository<Widget>("widgets", w => w.Id, "catalog");
        await using var provider = services.BuildServiceProvider();

        var repository = provider.GetRequiredService<IRepository<Widget>>();
        await repository.SaveAsync(new Widget("w1", "One", 1), ct: Ct);

        var catalog = provider.GetRequiredKeyedService<IStore>("catalog");
        repository.Store.Should().BeSameAs(catalog);
        (await catalog.GetAsync<Widget>("widgets", "w1", Ct)).Should().Be(new Widget("w1", "One", 1));
        (await provider.GetRequiredService<IStore>().GetAsync("widgets", "w1", Ct)).Should().BeNull();
    }

    [Fact]
    public async Task AddRepository_UnknownStore_ThrowsOnResolve()
    {
        var services = new ServiceCollection();
        services.AddPersistence().AddInMemoryStore().AddRepository<Widget>("widgets", w => w.Id, "missing");
        await using var provider = services.BuildServiceProvider();

        FluentActions.Invoking(() => provider.GetRequiredService<IRepository<Widget>>())
            .Should().Throw<InvalidOperationException>().Where(e => e.Message.Contains("'missing'", StringComparison.Ordinal));
    }

    [Fact]
    public void AddRepository_InvalidArguments_Throw()
    {
        var builder = new ServiceCollection().AddPersistence().AddInMemoryStore();
        FluentActions.Invoking(() => builder.AddRepository<Widget>(".bad", w => w.Id)).Should().Throw<ArgumentException>();
        FluentActions.Invoking(() => builder.AddRepository<Widget>("widgets", null!)).Should().Throw<ArgumentNullException>();
    }

    [Fact]
    public async Task AddRepository_TwoStores_EachIsKeyedByItsStoreAndTheDefaultIsUnkeyed()
    {
        var services = new ServiceCollection();
        services.AddPersistence().AddInMemoryStore("catalog").AddInMemoryStore()
            .AddRepository<Widget>("widgets", w => w.Id, "catalog")
            .AddRepository<Widget>("widgets", w => w.Id);
        await using var provider = services.BuildServiceProvider(validateScopes: true);

        var catalog = provider.GetRequiredKeyedService<IRepository<Widget>>("catalog");
        var byDefault = provider.GetRequiredKeyedService<IRepository<Widget>>("default");

        catalog.Store.Should().BeSameAs(provider.GetRequiredKeyedService<IStore>("catalog"));
        byDefault.Store.Should().BeSameAs(provider.GetRequiredService<IStore>());
        provider.GetRequiredService<IRepository<Widget>>().Should().BeSameAs(byDefault);
        provider.GetServices<IRepository<Widget>>().Should().ContainSingle();
    }

    [Fact]
    public async Task AddRepository_NamedStoresOnly_TheFirstIsUnkeyed()
    {
        var services = new ServiceCollection();
        services.AddPersistence().AddInMemoryStore("a").AddInMemoryStore("b")
            .AddRepository<Widget>("widgets", w => w.Id, "a")
            .AddRepository<Widget>("widgets", w => w.Id, "b");
        await using var provider = services.BuildServiceProvider();

        provider.GetRequiredService<IRepository<Widget>>().Should().BeSameAs(provider.GetRequiredKeyedService<IRepository<Widget>>("a"));
        provider.GetRequiredKeyedService<IRepository<Widget>>("b").Store.Name.Should().Be("b");
    }

    [Theory]
    [InlineData(null, "default")]
    [InlineData("default", "default")]
    [InlineData("catalog", "catalog")]
    public void AddRepository_SameTypeTwiceForOneStore_Throws(string? storeName, string expected)
    {
        var builder = new ServiceCollection().AddPersistence().AddInMemoryStore().AddInMemoryStore("catalog")
            .AddRepository<Widget>("widgets", w => w.Id, storeName == "default" ? null : storeName);

        FluentActions.Invoking(() => builder.AddRepository<Widget>("other", w => w.Id, storeName))
            .Should().Throw<ArgumentException>().WithMessage($"*IRepository<Widget>*'{expected}'*");
    }

    [Fact]
    public async Task AddInMemoryStore_UsesTimeProviderRegisteredBefore()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(time);
        services.AddPersistence().AddInMemoryStore();
        await using var provider = services.BuildServiceProvider();
        var store = provider.GetRequiredService<IStore>();

        await store.PutAsync("c", "k", 1, new PutOptions { TimeToLive = TimeSpan.FromMinutes(1) }, Ct);

        var entry = await store.GetAsync("c", "k", Ct);
        entry!.CreatedAt.Should().Be(time.GetUtcNow());
        entry.ExpiresAt.Should().Be(time.GetUtcNow().AddMinutes(1));
        time.Advance(TimeSpan.FromMinutes(1));
        (await store.GetAsync("c", "k", Ct)).Should().BeNull();
    }

    [Fact]
    public async Task AddInMemoryStore_UsesTimeProviderRegisteredAfter()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2031, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var services = new ServiceCollection();
        services.AddPersistence().AddInMemoryStore("named");
        services.AddSingleton<TimeProvider>(time);
        await using var provider = services.BuildServiceProvider();
        var store = provider.GetRequiredKeyedService<IStore>("named");

        await store.PutAsync("c", "k", 1, cancellationToken: Ct);

        (await store.GetAsync("c", "k", Ct))!.UpdatedAt.Should().Be(time.GetUtcNow());
    }

    [Fact]
    public async Task DisposingProvider_DisposesStores()
    {
        var services = new ServiceCollection();
        services.AddPersistence().AddInMemoryStore().AddInMemoryStore("cache");
        IStore store;
        IStore cache;
        await using (var provider = services.BuildServiceProvider())
        {
            store = provider.GetRequiredService<IStore>();
            cache = provider.GetRequiredKeyedService<IStore>("cache");
        }

        FluentActions.Invoking(() => store.GetAsync("c", "k", Ct)).Should().Throw<ObjectDisposedException>();
        FluentActions.Invoking(() => cache.GetAsync("c", "k", Ct)).Should().Throw<ObjectDisposedException>();
    }
}
