using System.Text;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Persistence.Caching;

namespace Persistence.Caching.Tests;

public sealed class CachingPersistenceBuilderExtensionsTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task AddCaching_DefaultStore_ResolvedStoreReadsThroughACache()
    {
        var services = new ServiceCollection();
        services.AddPersistence().AddInMemoryStore().AddCaching(o => o.SizeLimit = 123);
        await using var provider = services.BuildServiceProvider();

        var store = provider.GetRequiredService<IStore>();
        await store.PutAsync("c", "k", Encoding.UTF8.GetBytes("v"), cancellationToken: Token);
        await store.GetAsync("c", "k", Token);
        await store.GetAsync("c", "k", Token);

        var cache = store.Unwrap<CachingStore>();
        cache.Should().NotBeNull();
        cache!.Statistics.Hits.Should().Be(1);
        store.Unwrap<InMemoryStore>().Should().NotBeNull();
        provider.GetRequiredService<IStoreProvider>().GetStore().Should().BeSameAs(store);
    }

    [Fact]
    public async Task AddCaching_NamedStoreRegisteredAfterwards_OnlyThatStoreIsCached()
    {
        var services = new ServiceCollection();
        services.AddPersistence().AddCaching("shared", o => o.MaxStaleness = TimeSpan.FromSeconds(1)).AddInMemoryStore().AddInMemoryStore("shared");
        await using var provider = services.BuildServiceProvider();

        provider.GetRequiredKeyedService<IStore>("shared").Unwrap<CachingStore>().Should().NotBeNull();
        provider.GetRequiredService<IStore>().Unwrap<CachingStore>().Should().BeNull();
        provider.GetRequiredService<IStore>().Unwrap<InMemoryStore>().Should().NotBeNull();
    }

    [Fact]
    public async Task AddCaching_InvalidOptions_FailsWhenTheStoreIsResolvedNamingTheStoreAndSetting()
    {
        var services = new ServiceCollection();
        services.AddPersistence().AddInMemoryStore("shared").AddCaching("shared", o => o.SizeLimit = -5);
        await using var provider = services.BuildServiceProvider();

        var act = () => provider.GetRequiredKeyedService<IStore>("shared");

        act.Should().Throw<OptionsValidationException>().WithMessage("*'shared'*SizeLimit*");
    }

    [Fact]
    public async Task AddStore_EveryStore_IsInstrumentedAndDisposedWithTheProvider()
    {
        var services = new ServiceCollection();
        services.AddPersistence().AddInMemoryStore();
        var provider = services.BuildServiceProvider();
        var store = provider.GetRequiredService<IStore>();
        var inner = store.Unwrap<InMemoryStore>()!;

        store.GetType().Name.Should().Be("InstrumentedStore");
        store.Should().BeAssignableTo<IPurgeableStore>();
        await provider.DisposeAsync();

        var act = async () => await inner.GetAsync("c", "k", Token);
        await act.Should().ThrowAsync<ObjectDisposedException>();
    }
}
